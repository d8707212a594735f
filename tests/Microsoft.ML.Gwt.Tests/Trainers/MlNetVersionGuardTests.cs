using Microsoft.ML;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

[TestClass]
public sealed class MlNetVersionGuardTests
{
    [TestMethod]
    public void TheReferencedMicrosoftMlIsTheSupportedOne()
    {
        var loaded = MlNetVersionGuard.LoadedVersions();
        CollectionAssert.AreEquivalent(new[] { "Microsoft.ML.Core", "Microsoft.ML.Data" }, loaded.Select(l => l.Assembly).ToArray());
        Assert.IsTrue(loaded.All(l => l.Version!.StartsWith("5.0.1+", StringComparison.Ordinal)), string.Join(", ", loaded));
        Assert.IsNull(MlNetVersionGuard.Check(loaded));
        MlNetVersionGuard.EnsureSupported();
        Assert.AreEqual("5.0.1", MlNetVersionGuard.SupportedVersion);
    }

    [TestMethod]
    [DataRow("5.0.2+abc")]
    [DataRow("5.0.10")]
    [DataRow("5.0.1-preview.1+abc")]
    [DataRow("4.0.2")]
    [DataRow("")]
    [DataRow(null)]
    public void AnotherVersionIsRefusedNamingTheSupportedOne(string? version)
    {
        var error = MlNetVersionGuard.Check(new[] { ("Microsoft.ML.Core", (string?)"5.0.1+a4f7"), ("Microsoft.ML.Data", version) });
        Assert.IsNotNull(error, version);
        Assert.IsInstanceOfType<NotSupportedException>(error);
        StringAssert.Contains(error.Message, "Microsoft.ML 5.0.1 only");
        StringAssert.Contains(error.Message, "Microsoft.ML.Data " + (string.IsNullOrEmpty(version) ? "of an unknown version" : version));
    }

    [TestMethod]
    public void TheTrainerTheLoaderAndSavingRefuseAnotherVersion()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var path = Path.Combine(Directory.CreateTempSubdirectory("gwt-guard-").FullName, "model.zip");
        ml.Model.Save(model, test.Schema, path);
        MlNetVersionGuard.TestVersions = new[] { ("Microsoft.ML.Data", (string?)"5.0.2+abc") };
        try
        {
            static void Names501(Exception ex)
            {
                StringAssert.Contains(ex.Message, "supports Microsoft.ML 5.0.1 only");
                StringAssert.Contains(ex.Message, "Microsoft.ML.Data 5.0.2+abc");
                Assert.IsTrue(ex.Message.EndsWith("Reference Microsoft.ML 5.0.1.", StringComparison.Ordinal), ex.Message);
            }
            Names501(Assert.ThrowsExactly<NotSupportedException>(MlNetVersionGuard.EnsureSupported));
            Names501(Assert.ThrowsExactly<NotSupportedException>(Microsoft.ML.Gwt.GwtModelLoader.Register));
            Names501(Assert.ThrowsExactly<NotSupportedException>(() => new MLContext().MulticlassClassification.Trainers.Gwt()));
            Names501(Assert.ThrowsExactly<NotSupportedException>(() => new MLContext().RegisterGwtComponents()));
            Names501(Assert.ThrowsExactly<NotSupportedException>(() => ml.Model.Save(model, test.Schema, path + ".again")));
            var load = Assert.Throws<Exception>(() => new MLContext().Model.Load(path, out _));
            var inner = load;
            while (inner is not NotSupportedException && inner.InnerException is not null)
            {
                inner = inner.InnerException;
            }
            Assert.IsInstanceOfType<NotSupportedException>(inner, load.ToString());
            Names501(inner);
        }
        finally
        {
            MlNetVersionGuard.TestVersions = null;
        }
        new MLContext().Model.Load(path, out _); // the real versions load again
    }

    [TestMethod]
    [DataRow("5.0.1")]
    [DataRow("5.0.1+a4f730ec0c9106c2c9ef9e1fa34011374115fb98")]
    public void TheSupportedReleaseWithOrWithoutCommitPasses(string version) =>
        Assert.IsNull(MlNetVersionGuard.Check(new[] { ("Microsoft.ML.Core", (string?)version) }));
}
