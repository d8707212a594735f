using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Samples;

/// <summary>Runs the built sample (samples/QuestionAnswering) on 32 training questions for one epoch
/// and 60 test questions (GWT_SAMPLE_TRAIN_ROWS, GWT_SAMPLE_EPOCHS, GWT_SAMPLE_TEST_ROWS).</summary>
[TestClass]
public sealed class QuestionAnsweringSampleTests
{
    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void QuestionAnsweringSampleTrainsEvaluatesSavesLoadsAnswersAndScoresThroughOnnxRuntime()
    {
        var folder = TestCheckpoints.NewFolder();
        var (code, stdout, stderr) = BuiltApp.Run(BuiltApp.Dll("samples", "QuestionAnswering"), Array.Empty<string>(), folder,
            new Dictionary<string, string> { ["GWT_SAMPLE_TRAIN_ROWS"] = "32", ["GWT_SAMPLE_EPOCHS"] = "1", ["GWT_SAMPLE_TEST_ROWS"] = "60" });
        Assert.AreEqual(0, code, $"{stderr}\n{stdout}");
        StringAssert.Contains(stdout, "epoch 1: validation loss");
        var test = Regex.Match(stdout, @"Test: exact match ([0-9.]+), F1 ([0-9.]+) over (\d+) questions");
        Assert.IsTrue(test.Success, stdout);
        Assert.AreEqual("60", test.Groups[3].Value);
        StringAssert.Matches(stdout, new Regex(@"'Which link comes right after ""or visit""\?' -> '.+' \([0-9.]+\)"));
        // ONNX Runtime answers the test questions as TorchSharp does: the same metrics.
        var onnx = Regex.Match(stdout, @"ONNX Runtime: test exact match ([0-9.]+), F1 ([0-9.]+) over 60 questions");
        Assert.IsTrue(onnx.Success, stdout);
        Assert.AreEqual(double.Parse(test.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(onnx.Groups[1].Value, CultureInfo.InvariantCulture), 1.7); // a near tie that flips moves EM by 1/60
        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "qa-model.zip")), stdout);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "qa-onnx", "model.onnx")), stdout);
    }
}
