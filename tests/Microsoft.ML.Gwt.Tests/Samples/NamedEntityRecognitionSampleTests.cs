using System.Globalization;
using System.Text.RegularExpressions;
using Microsoft.ML.Gwt.Tests.Modeling;

namespace Microsoft.ML.Gwt.Tests.Samples;

/// <summary>Runs the built sample (samples/NamedEntityRecognition) on its first 300 training sentences for one epoch
/// (GWT_SAMPLE_TRAIN_ROWS, GWT_SAMPLE_EPOCHS).</summary>
[TestClass]
public sealed class NamedEntityRecognitionSampleTests
{
    [TestMethod]
    [TestCategory(TestCategories.Process)]
    public void NamedEntityRecognitionSampleTrainsEvaluatesSavesLoadsTagsAndScoresThroughOnnxRuntime()
    {
        var folder = TestCheckpoints.NewFolder();
        var (code, stdout, stderr) = BuiltApp.Run(BuiltApp.Dll("samples", "NamedEntityRecognition"), Array.Empty<string>(), folder,
            new Dictionary<string, string> { ["GWT_SAMPLE_TRAIN_ROWS"] = "300", ["GWT_SAMPLE_EPOCHS"] = "1" });
        Assert.AreEqual(0, code, $"{stderr}\n{stdout}");

        StringAssert.Contains(stdout, "epoch 1: validation loss");
        var test = Regex.Match(stdout, @"Test: entity F1 ([0-9.]+) \(precision ([0-9.]+), recall ([0-9.]+)\), token accuracy ([0-9.]+)");
        Assert.IsTrue(test.Success, stdout);
        StringAssert.Contains(stdout, "Write to jane.doe@example.org");

        // ONNX Runtime tags the 1,135 test sentences as TorchSharp does: the same word tags, so the same F1.
        var onnx = Regex.Match(stdout, @"ONNX Runtime: test entity F1 ([0-9.]+), (\d+) of (\d+) word tags differ from TorchSharp's");
        Assert.IsTrue(onnx.Success, stdout);
        Assert.AreEqual("0", onnx.Groups[2].Value, stdout);
        Assert.AreEqual(double.Parse(test.Groups[1].Value, CultureInfo.InvariantCulture), double.Parse(onnx.Groups[1].Value, CultureInfo.InvariantCulture));

        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "ner-model.zip")), stdout);
        Assert.IsTrue(File.Exists(Path.Combine(folder, "output", "ner-onnx", "model.onnx")), stdout);
    }
}
