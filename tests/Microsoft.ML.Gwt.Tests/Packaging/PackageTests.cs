using Microsoft.ML.Gwt.Core.Interop;
using System.IO.Compression;
using System.Xml.Linq;

namespace Microsoft.ML.Gwt.Tests.Packaging;

/// <summary>What the Microsoft.ML.Gwt .nupkg declares and ships.</summary>
[TestClass]
public sealed class PackageTests
{
    private static XDocument Nuspec(string package, string id)
    {
        using var zip = ZipFile.OpenRead(package);
        using var stream = zip.GetEntry(id + ".nuspec")!.Open();
        return XDocument.Load(stream);
    }

    private static Dictionary<string, string> Dependencies(string package = PackedLibrary.TrainingPackageId) =>
        Nuspec(PackedLibrary.PackagePath(package), package).Descendants()
            .Where(e => e.Name.LocalName == "dependency")
            .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);

    /// <summary>A library project's own PackageReference items with their versions (its <c>VersionOverride</c>, else the
    /// central version; <c>$(Property)</c> read from Directory.Packages.props; build-time-only ones left out), and its
    /// ProjectReferences (packed at the version being packed).</summary>
    private static Dictionary<string, string> LibraryReferences(string project)
    {
        var root = PackedLibrary.RepositoryRoot;
        var props = XDocument.Load(Path.Combine(root, "Directory.Packages.props"));
        var properties = props.Descendants("PropertyGroup").Elements().Where(e => e.Attribute("Condition") is null)
            .ToDictionary(e => e.Name.LocalName, e => e.Value.Trim());
        string Expand(string value) => System.Text.RegularExpressions.Regex.Replace(value, @"\$\((\w+)\)", m => properties[m.Groups[1].Value]);
        var versions = props.Descendants("PackageVersion")
            .ToDictionary(e => e.Attribute("Include")!.Value, e => e.Attribute("Version")!.Value);
        var csproj = XDocument.Load(Path.Combine(root, "src", project, project + ".csproj"));
        return csproj.Descendants("PackageReference")
            .Where(e => e.Attribute("PrivateAssets")?.Value != "all") // build-time only (Grpc.Tools compiles onnx.proto)
            .ToDictionary(e => e.Attribute("Include")!.Value, e => Expand(e.Attribute("VersionOverride")?.Value ?? versions[e.Attribute("Include")!.Value]))
            .Concat(csproj.Descendants("ProjectReference").Select(e =>
                KeyValuePair.Create(Path.GetFileNameWithoutExtension(e.Attribute("Include")!.Value), PackedLibrary.Version)))
            .ToDictionary();
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    [DataRow(PackedLibrary.TrainingPackageId)]
    [DataRow(PackedLibrary.CorePackageId)]
    [DataRow(PackedLibrary.OnnxPackageId)]
    [DataRow(PackedLibrary.OnnxImportPackageId)]
    public void PackageDependsOnExactlyWhatTheLibraryReferences(string package)
    {
        var dependencies = Dependencies(package);
        var references = LibraryReferences(package);
        CollectionAssert.AreEquivalent(references.Keys.ToArray(), dependencies.Keys.ToArray(),
            $"package dependencies: {string.Join(", ", dependencies.Keys)}; library references: {string.Join(", ", references.Keys)}");
        foreach (var (id, version) in references)
        {
            Assert.AreEqual(version, dependencies[id], id);
        }
        Assert.IsFalse(dependencies.Keys.Any(id => id.StartsWith("SkiaSharp", StringComparison.Ordinal)), "the sample's SkiaSharp pin leaked");
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    [DataRow(PackedLibrary.CorePackageId, "", "TorchSharp,Microsoft.ML.OnnxRuntime,Microsoft.ML.Gwt.Onnx,Microsoft.ML.Gwt")]
    [DataRow(PackedLibrary.OnnxPackageId, "Microsoft.ML.Gwt.Core,Microsoft.ML.OnnxRuntime", "TorchSharp,Microsoft.ML.Gwt")]
    [DataRow(PackedLibrary.TrainingPackageId, "Microsoft.ML.Gwt.Core,TorchSharp", "Microsoft.ML.OnnxRuntime,Microsoft.ML.Gwt.Onnx")]
    [DataRow(PackedLibrary.OnnxImportPackageId, "Microsoft.ML.Gwt,Microsoft.ML.OnnxRuntime", "Microsoft.ML.Gwt.Onnx")]
    public void EachPackageShipsItsOwnAssemblyAndDependsOnlyOnTheNativesItUses(string package, string required, string forbidden)
    {
        var dependencies = Dependencies(package);
        foreach (var id in required.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            Assert.IsTrue(dependencies.ContainsKey(id), $"{package} lacks {id}: {string.Join(", ", dependencies.Keys)}");
        }
        foreach (var prefix in forbidden.Split(','))
        {
            // TorchSharp stands for every TorchSharp package (TorchSharp-cpu, -cuda-*); the others are exact ids.
            Assert.IsFalse(dependencies.Keys.Any(id => id.Equals(prefix, StringComparison.OrdinalIgnoreCase)
                    || (prefix == "TorchSharp" && id.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase))),
                $"{package} depends on {prefix}: {string.Join(", ", dependencies.Keys)}");
        }
        using var zip = ZipFile.OpenRead(PackedLibrary.PackagePath(package));
        var assemblies = zip.Entries.Select(e => e.FullName).Where(n => n.StartsWith("lib/", StringComparison.Ordinal)).ToArray();
        CollectionAssert.AreEquivalent(new[] { $"lib/net10.0/{package}.dll", $"lib/net10.0/{package}.xml" }, assemblies, string.Join(", ", assemblies));
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    [DataRow(PackedLibrary.TrainingPackageId)]
    [DataRow(PackedLibrary.CorePackageId)]
    [DataRow(PackedLibrary.OnnxPackageId)]
    public void MicrosoftMlAndTokenizersAreRangesOverTheTestedLines(string package)
    {
        // Both lines that MlNetVersionGuard accepts and .ci/run tests, and no other: 5.0.x and 6.0.x (Tokenizers 2.0.x, 3.0.x).
        // The tokenizers are the core's; the other packages get them through it.
        var dependencies = Dependencies(package);
        Assert.AreEqual("[5.0.1, 6.1.0)", dependencies["Microsoft.ML"]);
        foreach (var tokenizers in new[] { "Microsoft.ML.Tokenizers", "Microsoft.ML.Tokenizers.Data.Cl100kBase" })
        {
            if (package == PackedLibrary.CorePackageId)
            {
                Assert.AreEqual("[2.0.1, 3.1.0)", dependencies[tokenizers], tokenizers);
            }
            else
            {
                Assert.IsFalse(dependencies.ContainsKey(tokenizers), $"{package} names {tokenizers}: the core's range decides it");
            }
        }
        Assert.AreEqual("5.0.x or 6.0.x", MlNetVersionGuard.SupportedText);
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    public void BothBootstrapsShipInBuildTransitive()
    {
        using var zip = ZipFile.OpenRead(PackedLibrary.Package);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var folder in new[] { "buildTransitive", "build" })
        {
            Assert.Contains($"{folder}/Microsoft.ML.Gwt.targets", names);
            Assert.Contains($"{folder}/GwtTorchSharpBootstrap.cs", names);
            Assert.Contains($"{folder}/GwtModelLoaderBootstrap.cs", names);
        }
        using var targets = new StreamReader(zip.GetEntry("buildTransitive/Microsoft.ML.Gwt.targets")!.Open());
        var xml = XDocument.Parse(targets.ReadToEnd());
        // Each bootstrap is switched by its own property, and only by it.
        var groups = xml.Descendants("ItemGroup").ToList();
        var native = groups.Single(g => g.Descendants("Compile").Any(c => c.Attribute("Include")!.Value.EndsWith("GwtTorchSharpBootstrap.cs")));
        var loader = groups.Single(g => g.Descendants("Compile").Any(c => c.Attribute("Include")!.Value.EndsWith("GwtModelLoaderBootstrap.cs")));
        Assert.AreNotSame(native, loader);
        StringAssert.Contains(native.Attribute("Condition")!.Value, "'$(GwtTorchSharpBootstrap)' != 'false'");
        Assert.IsFalse(native.Attribute("Condition")!.Value.Contains("GwtModelLoaderBootstrap"));
        StringAssert.Contains(loader.Attribute("Condition")!.Value, "'$(GwtModelLoaderBootstrap)' != 'false'");
        Assert.IsFalse(loader.Attribute("Condition")!.Value.Contains("GwtTorchSharpBootstrap"));
    }
}
