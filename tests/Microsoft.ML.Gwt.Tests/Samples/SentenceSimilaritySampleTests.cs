using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Samples;

/// <summary>Runs the built sample (samples/SentenceSimilarity) on a 300-pair subset of its training split
/// (GWT_SAMPLE_TRAIN_ROWS).</summary>
[TestClass]
public sealed class SentenceSimilaritySampleTests
{
    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void SentenceSimilaritySampleTrainsEvaluatesSavesLoadsPredictsAndScoresThroughOnnxRuntime()
    {
        var folder = TestCheckpoints.NewFolder();
        var (code, stdout, stderr) = BuiltApp.Run(BuiltApp.Dll("samples", "SentenceSimilarity"), Array.Empty<string>(), folder,
            new Dictionary<string, string> { ["GWT_SAMPLE_TRAIN_ROWS"] = "300", ["GWT_SAMPLE_EPOCHS"] = "2" });
        Assert.AreEqual(0, code, $"{stderr}\n{stdout}");

        StringAssert.Contains(stdout, "epoch 2: validation MSE");
        var test = Regex.Match(stdout, @"Test: Pearson (-?[0-9.]+|NaN), Spearman (-?[0-9.]+|NaN), MSE ([0-9.]+), R² (-?[0-9.]+)");
        Assert.IsTrue(test.Success, stdout);
        StringAssert.Matches(stdout, new Regex(@"'the red cube is left of the blue ball' vs '.+': -?[0-9.]+ \(a paraphrase: 5\)"));

        // ONNX Runtime scores the 1,000 test pairs as TorchSharp does (within 1e-4). After 2 epochs on 300 pairs the scores
        // barely vary, so differences of 1e-6 can move the 4th decimal of Pearson's r: compared within 0.01.
        var onnx = Regex.Match(stdout, @"ONNX Runtime: test Pearson (-?[0-9.]+|NaN), largest difference from TorchSharp (\S+) over (\d+) pairs");
        Assert.IsTrue(onnx.Success, stdout);
        Assert.AreEqual("1000", onnx.Groups[3].Value);
        Assert.IsLessThan(1e-4, double.Parse(onnx.Groups[2].Value, CultureInfo.InvariantCulture));
        Assert.AreEqual(double.Parse(test.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(onnx.Groups[1].Value, CultureInfo.InvariantCulture), 0.01);

        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "sts-model.zip")), stdout);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "sts-onnx", "model.onnx")), stdout);
    }
}
