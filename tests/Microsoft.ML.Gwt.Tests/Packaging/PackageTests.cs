using Microsoft.ML.Gwt.Interop;
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

    private static Dictionary<string, string> Dependencies(string package = "Microsoft.ML.Gwt") =>
        Nuspec(package == "Microsoft.ML.Gwt" ? PackedLibrary.Package : PackedLibrary.OnnxPackage, package).Descendants()
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
    [DataRow("Microsoft.ML.Gwt")]
    [DataRow(PackedLibrary.OnnxPackageId)]
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
    public void TheScoringPackageShipsItsAssemblyAndNeverDependsOnTorchSharp()
    {
        Assert.AreEqual(PackedLibrary.Version, Dependencies()[PackedLibrary.OnnxPackageId]);
        Assert.IsFalse(Dependencies(PackedLibrary.OnnxPackageId).Keys.Any(id => id.StartsWith("TorchSharp", StringComparison.OrdinalIgnoreCase)),
            string.Join(", ", Dependencies(PackedLibrary.OnnxPackageId).Keys));
        using var zip = ZipFile.OpenRead(PackedLibrary.OnnxPackage);
        var names = zip.Entries.Select(e => e.FullName).ToHashSet();
        Assert.Contains("lib/net10.0/Microsoft.ML.Gwt.Onnx.dll", names);
        Assert.Contains("lib/net10.0/Microsoft.ML.Gwt.Onnx.xml", names);
    }

    [TestMethod]
    [TestCategory("Integration")]
    [TestCategory(TestCategories.Process)]
    [DataRow("Microsoft.ML.Gwt")]
    [DataRow(PackedLibrary.OnnxPackageId)]
    public void MicrosoftMlAndTokenizersAreRangesOverTheTestedLines(string package)
    {
        // Both lines that MlNetVersionGuard accepts and .ci/run tests, and no other: 5.0.x and 6.0.x (Tokenizers 2.0.x, 3.0.x).
        var dependencies = Dependencies(package);
        Assert.AreEqual("[5.0.1, 6.1.0)", dependencies["Microsoft.ML"]);
        Assert.AreEqual("[2.0.1, 3.1.0)", dependencies["Microsoft.ML.Tokenizers"]);
        Assert.AreEqual("[2.0.1, 3.1.0)", dependencies["Microsoft.ML.Tokenizers.Data.Cl100kBase"]);
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
