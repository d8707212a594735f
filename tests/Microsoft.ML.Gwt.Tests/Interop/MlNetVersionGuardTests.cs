using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Tests.Trainers;

namespace Microsoft.ML.Gwt.Tests.Interop;

[TestClass]
public sealed class MlNetVersionGuardTests
{
    /// <summary>The Microsoft.ML version this test run was built for: 6.0.0 by default, 5.0.1 in .ci/run's second pass
    /// (<c>-p:MlNetVersion=5.0.1</c>; the test project writes it into an assembly attribute).</summary>
    internal static string BuiltFor => typeof(MlNetVersionGuardTests).Assembly
        .GetCustomAttributes(typeof(System.Reflection.AssemblyMetadataAttribute), false).Cast<System.Reflection.AssemblyMetadataAttribute>()
        .Single(a => a.Key == "MlNetVersion").Value!;

    [TestMethod]
    public void TheLoadedMicrosoftMlIsTheOneThisRunWasBuiltForAndIsSupported()
    {
        var loaded = MlNetVersionGuard.LoadedVersions();
        CollectionAssert.AreEquivalent(new[] { "Microsoft.ML.Core", "Microsoft.ML.Data" }, loaded.Select(l => l.Assembly).ToArray());
        Assert.IsTrue(loaded.All(l => l.Version!.StartsWith(BuiltFor + "+", StringComparison.Ordinal)), $"built for {BuiltFor}: {string.Join(", ", loaded)}");
        Assert.IsNull(MlNetVersionGuard.Check(loaded));
        MlNetVersionGuard.EnsureSupported();
        Assert.AreEqual("5.0.x or 6.0.x", MlNetVersionGuard.SupportedText);
    }

    [TestMethod]
    [DataRow("7.0.0+abc")]
    [DataRow("6.1.0")]
    [DataRow("5.1.0+abc")]
    [DataRow("4.0.2")]
    [DataRow("6.0.0-preview.1+abc")]
    [DataRow("5.0.1-preview.1+abc")]
    [DataRow("6.0")]
    [DataRow("6.0.0.1")]
    [DataRow("6.0.0.0")]
    [DataRow("six")]
    [DataRow("")]
    [DataRow(null)]
    public void AnUntestedLineIsRefusedNamingTheSupportedOnes(string? version)
    {
        var error = MlNetVersionGuard.Check(new[] { ("Microsoft.ML.Core", (string?)"6.0.0+a4f7"), ("Microsoft.ML.Data", version) });
        Assert.IsNotNull(error, version);
        Assert.IsInstanceOfType<NotSupportedException>(error);
        StringAssert.Contains(error.Message, "supports Microsoft.ML 5.0.x or 6.0.x");
        StringAssert.Contains(error.Message, "Microsoft.ML.Data " + (string.IsNullOrEmpty(version) ? "of an unknown version" : version));
        Assert.IsTrue(error.Message.EndsWith("Reference Microsoft.ML 6.0.0 or 5.0.1.", StringComparison.Ordinal), error.Message);
    }

    [TestMethod]
    [DataRow("5.0.1")]
    [DataRow("5.0.1+a4f730ec0c9106c2c9ef9e1fa34011374115fb98")]
    [DataRow("5.0.2+abc")]
    [DataRow("6.0.0")]
    [DataRow("6.0.0+0d3b34d8c4e0d7a5f5d8e2f6b7c1a9e3d4f5a6b7")]
    [DataRow("6.0.3")]
    public void EveryReleaseOfASupportedLinePasses(string version) =>
        Assert.IsNull(MlNetVersionGuard.Check(new[] { ("Microsoft.ML.Core", (string?)version), ("Microsoft.ML.Data", (string?)version) }));

    [TestMethod]
    public void TheTrainerTheLoaderTheCatalogAndSavingRefuseAnotherVersion()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var path = Path.Combine(Directory.CreateTempSubdirectory("gwt-guard-").FullName, "model.zip");
        ml.Model.Save(model, test.Schema, path);
        MlNetVersionGuard.TestVersions = new[] { ("Microsoft.ML.Data", (string?)"7.0.0+abc") };
        try
        {
            static void NamesTheLines(Exception ex)
            {
                StringAssert.Contains(ex.Message, "supports Microsoft.ML 5.0.x or 6.0.x");
                StringAssert.Contains(ex.Message, "Microsoft.ML.Data 7.0.0+abc");
            }
            NamesTheLines(Assert.ThrowsExactly<NotSupportedException>(MlNetVersionGuard.EnsureSupported));
            NamesTheLines(Assert.ThrowsExactly<NotSupportedException>(() => _ = MlNetBindings.Current));
            NamesTheLines(Assert.ThrowsExactly<NotSupportedException>(Microsoft.ML.Gwt.GwtModelLoader.Register));
            // The catalog reaches ML.NET's internal IInternalCatalog only through the guarded bindings.
            NamesTheLines(Assert.ThrowsExactly<NotSupportedException>(() => new MLContext().MulticlassClassification.Trainers.Gwt()));
            NamesTheLines(Assert.ThrowsExactly<NotSupportedException>(() => new MLContext().RegisterGwtComponents()));
            NamesTheLines(Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(model, test.Schema, path + ".again")));
            var load = Assert.Throws<Exception>(() => new MLContext().Model.Load(path, out _));
            var inner = load;
            while (inner is not NotSupportedException && inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }
            Assert.IsInstanceOfType<NotSupportedException>(inner, load.ToString());
            NamesTheLines(inner);
        }
        finally
        {
            MlNetVersionGuard.TestVersions = null;
        }
        new MLContext().Model.Load(path, out _); // the real versions load again
    }
}
