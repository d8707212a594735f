using Microsoft.ML.Gwt.Tests.Samples;

namespace Microsoft.ML.Gwt.Tests.SentenceSimilarity;

/// <summary>The built bench/SentenceSimilarityComparison's --import-nuget option (the README's MiniLM rows): it takes the
/// two NuGet encoders by name and refuses what it cannot run, before any import or training.</summary>
[TestClass]
public sealed class SentenceSimilarityComparisonTests
{
    private static (int ExitCode, string Stdout, string Stderr) Run(params string[] args) =>
        BuiltApp.Run(BuiltApp.Dll("bench", "SentenceSimilarityComparison"), args);

    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void ImportNuGetTakesTheTwoEncodersByNameAndIsNotCombinedWithMlmPretraining()
    {
        var unknown = Run("3", "1e-4", "32", "gwt", "10", "--import-nuget", "bert-base");
        Assert.AreEqual(2, unknown.ExitCode, unknown.Stderr);
        StringAssert.Contains(unknown.Stderr, "--import-nuget takes minilm or arcticxs, not 'bert-base'");

        var missing = Run("--import-nuget");
        Assert.AreEqual(2, missing.ExitCode, missing.Stderr);
        StringAssert.Contains(missing.Stderr, "--import-nuget needs a name");

        var both = Run("3", "1e-4", "32", "gwt", "10", "2", "--import-nuget", "minilm");
        Assert.AreEqual(2, both.ExitCode, both.Stderr);
        StringAssert.Contains(both.Stderr, "MLM pre-training (the sixth argument) and --import-nuget are alternatives");
        Assert.DoesNotContain("Imported", both.Stdout, "nothing is imported before the arguments are checked");
    }
}
