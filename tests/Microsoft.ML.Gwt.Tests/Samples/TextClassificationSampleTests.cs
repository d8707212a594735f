using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Samples;

/// <summary>Runs the built sample (samples/TextClassification), the README's first command, on a 300-email subset of
/// its training split (GWT_SAMPLE_TRAIN_ROWS) so that it takes seconds.</summary>
[TestClass]
public sealed class TextClassificationSampleTests
{
    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void SampleTrainsEvaluatesSavesLoadsPredictsAndScoresThroughOnnxRuntime()
    {
        var folder = TestCheckpoints.NewFolder();
        var (code, stdout, stderr) = BuiltApp.Run(BuiltApp.Dll("samples", "TextClassification"), Array.Empty<string>(), folder,
            new Dictionary<string, string> { ["GWT_SAMPLE_TRAIN_ROWS"] = "300" });
        Assert.AreEqual(0, code, $"{stderr}\n{stdout}");

        StringAssert.Contains(stdout, "epoch 3: validation accuracy");
        var test = Regex.Match(stdout, @"Test: accuracy (.+?%), macro-F1 [0-9.]+, log-loss [0-9.]+");
        Assert.IsTrue(test.Success, stdout);
        StringAssert.Matches(stdout, new Regex(@"Prediction: '.+\.\.\.' is (ham|hard_ham|spam) \(probability "));

        // ONNX Runtime scores the 604 test emails with the same labels as TorchSharp, so with the same accuracy.
        var onnx = Regex.Match(stdout, @"ONNX Runtime: test accuracy (.+?%), same label as TorchSharp on (\d+) of (\d+) emails");
        Assert.IsTrue(onnx.Success, stdout);
        Assert.AreEqual("604", onnx.Groups[3].Value);
        Assert.AreEqual(onnx.Groups[3].Value, onnx.Groups[2].Value, "labels that differ between ONNX Runtime and TorchSharp");
        Assert.AreEqual(test.Groups[1].Value, onnx.Groups[1].Value);

        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "model.zip")), stdout);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "onnx", "model.onnx")), stdout);
    }
}
