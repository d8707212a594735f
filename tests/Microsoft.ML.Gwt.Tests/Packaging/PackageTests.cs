using System.IO.Compression;
using System.Xml.Linq;

namespace Microsoft.ML.Gwt.Tests.Packaging;

/// <summary>What the Microsoft.ML.Gwt .nupkg declares and ships.</summary>
[TestClass]
public sealed class PackageTests
{
    private static XDocument Nuspec()
    {
        using var zip = ZipFile.OpenRead(PackedLibrary.Package);
        using var stream = zip.GetEntry("Microsoft.ML.Gwt.nuspec")!.Open();
        return XDocument.Load(stream);
    }

    private static Dictionary<string, string> Dependencies() => Nuspec().Descendants()
        .Where(e => e.Name.LocalName == "dependency")
        .ToDictionary(e => e.Attribute("id")!.Value, e => e.Attribute("version")!.Value);

    /// <summary>The library project's own PackageReference items, with their central versions.</summary>
    private static Dictionary<string, string> LibraryReferences()
    {
        var root = PackedLibrary.RepositoryRoot;
        var versions = XDocument.Load(Path.Combine(root, "Directory.Packages.props")).Descendants("PackageVersion")
            .ToDictionary(e => e.Attribute("Include")!.Value, e => e.Attribute("Version")!.Value);
        return XDocument.Load(Path.Combine(root, "src", "Microsoft.ML.Gwt", "Microsoft.ML.Gwt.csproj")).Descendants("PackageReference")
            .Select(e => e.Attribute("Include")!.Value)
            .ToDictionary(id => id, id => versions[id]);
    }

    [TestMethod]
    [TestCategory("Integration")]
    public void PackageDependsOnExactlyWhatTheLibraryReferences()
    {
        var dependencies = Dependencies();
        var references = LibraryReferences();
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
    public void MicrosoftMlDependencyIsExactly501()
    {
        Assert.AreEqual("[5.0.1]", Dependencies()["Microsoft.ML"]);
        Assert.AreEqual(Microsoft.ML.Gwt.Trainers.MlNetVersionGuard.SupportedVersion, Dependencies()["Microsoft.ML"].Trim('[', ']'));
    }

    [TestMethod]
    [TestCategory("Integration")]
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
