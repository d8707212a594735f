using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Samples;

/// <summary>Runs the built comparison harness (bench/SampleComparison) as the README's Results section does: its options,
/// errors and result files.</summary>
[TestClass]
public sealed class SampleComparisonTests
{
    internal static (int ExitCode, string Stdout, string Stderr) RunSample(params string[] args) => RunSampleIn(TestCheckpoints.NewFolder(), args);

    /// <summary>A small TSV in the sample's format, so a run takes seconds: 30 training, 9 validation and 9 test emails.</summary>
    private static string SmallData()
    {
        var data = Path.Combine(TestCheckpoints.NewFolder(), "emails.tsv");
        var rows = Trainers.SpamData.Take("train", 10, "ham", "spam", "hard_ham").Select(e => (e, "train"))
            .Concat(Trainers.SpamData.Take("validation", 3, "ham", "spam", "hard_ham").Select(e => (e, "validation")))
            .Concat(Trainers.SpamData.Take("test", 3, "ham", "spam", "hard_ham").Select(e => (e, "test")));
        File.WriteAllLines(data, new[] { "Label\tSplit\tText" }.Concat(rows.Select(r => $"{r.e.Label}\t{r.Item2}\t{r.e.Text}")));
        return data;
    }

    internal static (int ExitCode, string Stdout, string Stderr) RunSampleIn(string output, params string[] args) =>
        BuiltApp.Run(BuiltApp.Dll("bench", "SampleComparison"), args.Concat(new[] { "--output", output }));

    [TestMethod]
    [TestCategory(TestCategories.Process)]
    [DataRow("bert-tiny")]
    [DataRow("deberta-v3-tiny")]
    public void PretrainedFolderTrainsWithTheDefaultSequenceLength(string family)
    {
        // bert-tiny's table has 40 positions: the default 128 tokens used to abort with exit code 134. (Every family
        // fine-tunes through the same trainer call: PretrainedCheckpointTests.EveryFamilyFineTunes.)
        var folder = EncoderParityTests.Checkpoint(family);
        var (code, stdout, stderr) = RunSample("--data", SmallData(), "--pretrained", folder, "--epochs", "1");
        Assert.AreEqual(0, code, $"{family}: {stderr}\n{stdout}");
        StringAssert.Contains(stdout, "test accuracy");
    }

    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void ScoringPrecisionScoresTheTestSplitAgainAndReportsAgreement()
    {
        var (code, stdout, stderr) = RunSample("--data", SmallData(), "--scoring-precision", "bfloat16", "--precision", "float32",
            "--epochs", "1", "--max-tokens", "8");
        Assert.AreEqual(0, code, $"{stderr}\n{stdout}");
        StringAssert.Contains(stdout, "Gwt test scored in Float32 / BFloat16: accuracy");
        StringAssert.Contains(stdout, "AdamW test scored in Float32 / BFloat16: accuracy");
        StringAssert.Contains(stdout, "same predicted label on");
    }

    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void BadCheckpointsAndOptionsPrintAnErrorInsteadOfCrashing()
    {
        var missing = RunSample("--pretrained", "/nonexistent/gwt-checkpoint");
        Assert.AreEqual(2, missing.ExitCode, missing.Stderr);
        StringAssert.StartsWith(missing.Stderr.Trim(), "error:");
        StringAssert.Contains(missing.Stderr, "/nonexistent/gwt-checkpoint");

        var gpt2 = TestCheckpoints.NewFolder();
        File.WriteAllText(Path.Combine(gpt2, "config.json"), """{"model_type": "gpt2"}""");
        var unsupported = RunSample("--pretrained", gpt2);
        Assert.AreEqual(2, unsupported.ExitCode, unsupported.Stderr);
        StringAssert.Contains(unsupported.Stderr, "'gpt2'");
        StringAssert.Contains(unsupported.Stderr, "deberta-v2");

        var float16 = RunSample("--precision", "float16", "--train-rows", "12", "--epochs", "1");
        Assert.AreEqual(2, float16.ExitCode, float16.Stderr);
        StringAssert.Contains(float16.Stderr, "Precision = Float16 needs a CUDA device");

        var tooLong = RunSample("--pretrained", EncoderParityTests.Checkpoint("bert-tiny"), "--max-tokens", "128");
        Assert.AreEqual(2, tooLong.ExitCode, tooLong.Stderr);
        StringAssert.Contains(tooLong.Stderr, "40 tokens");
    }

    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void MlmPretrainOptionPretrainsThenComparesWithScratchAndSdca()
    {
        var data = SmallData();
        var output = TestCheckpoints.NewFolder();
        var (code, stdout, stderr) = RunSampleIn(output, "--data", data, "--mlm-pretrain", "--pretrain-epochs", "1", "--pretrain-lr", "0.002", "--epochs", "1", "--max-tokens", "32");
        Assert.AreEqual(0, code, $"{stderr}\n{stdout}");
        StringAssert.Contains(stdout, "pre-training epoch 1: held-out MLM loss");
        using var results = System.Text.Json.JsonDocument.Parse(File.ReadAllText(Path.Combine(output, "results.json")));
        CollectionAssert.AreEqual(new[] { "GWT, pre-trained", "GWT, from scratch", "n-grams + SDCA" },
            results.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("Name").GetString()).ToArray());
        Assert.AreEqual(1, results.RootElement.GetProperty("pretraining").GetProperty("Epochs").GetInt32());
        Assert.AreEqual(0.002, results.RootElement.GetProperty("pretraining").GetProperty("LearningRate").GetDouble());
        // Fine-tuning: 3e-4 from the pre-trained encoder, the trainer's from-scratch 5e-4 from scratch.
        CollectionAssert.AreEqual(new[] { 3e-4, 5e-4, 0 },
            results.RootElement.GetProperty("runs").EnumerateArray().Select(r => r.GetProperty("LearningRate").GetDouble()).ToArray());
        StringAssert.Contains(File.ReadAllText(Path.Combine(output, "mlm", "config.json")), "BertForMaskedLM");
    }
}
