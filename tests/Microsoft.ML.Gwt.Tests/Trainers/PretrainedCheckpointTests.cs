using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Tests.Trainers;

[TestClass]
public sealed class PretrainedCheckpointTests
{
    private sealed class Row
    {
        public string Label { get; set; } = "";
        public string Text { get; set; } = "";
    }

    private static IDataView Data(MLContext ml, int n, string[] labels) => ml.Data.LoadFromEnumerable(Enumerable.Range(0, n).Select(i => new Row
    {
        Label = labels[i % labels.Length],
        Text = i % 2 == 0 ? "the cat sat on the mat" : "hello world !",
    }));

    private static GwtTextClassificationTrainer.Options Options(string folder) => new()
    {
        Sentence1ColumnName = "Text", PretrainedModelPath = folder, MaxEpochs = 1, BatchSize = 8, Seed = 1,
    };

    [TestMethod]
    public void UnsetSequenceLengthAdaptsToA40PositionTable()
    {
        // bert-tiny has max_position_embeddings 40: the default of 128 tokens used to abort the sample.
        var ml = new MLContext(1);
        var o = Options(EncoderParityTests.Checkpoint("bert-tiny"));
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o))
            .Fit(Data(ml, 16, new[] { "a", "b" }));
        var transformer = model.LastTransformer;
        Assert.AreEqual(40, transformer.Options.MaxSequenceLength);
        Assert.AreEqual(128, o.MaxSequenceLength, "the user's options object is left as it was");
        var longText = string.Join(" ", Enumerable.Repeat("the cat sat on the mat", 40));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(new[] { new Row { Label = "a", Text = longText } }));
        var score = scored.GetColumn<float[]>("Score").Single();
        Assert.AreEqual(1.0, score.Sum(), 1e-5, "a 240-word text scores within the 40-token table");
    }

    [TestMethod]
    [DataRow("bert-tiny")]
    [DataRow("roberta-tiny")]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("bert-sharded-tiny")]
    [DataRow("xlm-roberta-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("deberta-v2-tiny-buckets8")]
    public void EveryFamilyFineTunes(string checkpoint)
    {
        var ml = new MLContext(1);
        var messages = new List<string>();
        ml.Log += (_, e) => messages.Add(e.Message);
        var data = Data(ml, 24, new[] { "a", "b" });
        var o = Options(EncoderParityTests.Checkpoint(checkpoint));
        o.MaxEpochs = 4;
        o.LearningRate = 2e-3;
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(data);
        var metrics = ml.MulticlassClassification.Evaluate(model.Transform(data));
        Assert.IsGreaterThan(0.9, metrics.MicroAccuracy, $"{checkpoint}: the two texts are separable ({metrics.MicroAccuracy})");
        Assert.IsTrue(messages.Any(m => m.Contains("Fine-tuning", StringComparison.Ordinal)), checkpoint);
    }

    [TestMethod]
    public void ShortOverloadAdaptsTooAndItsExplicitLengthIsChecked()
    {
        var ml = new MLContext(1);
        var folder = EncoderParityTests.Checkpoint("bert-tiny");
        var trainer = ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Text", maxEpochs: 1, pretrainedModelPath: folder);
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(trainer).Fit(Data(ml, 16, new[] { "a", "b" }));
        Assert.AreEqual(40, model.LastTransformer.Options.MaxSequenceLength);
        var explicitTooLong = ml.MulticlassClassification.Trainers.Gwt(sentence1ColumnName: "Text", maxEpochs: 1, pretrainedModelPath: folder, maxSequenceLength: 64);
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.Conversion.MapValueToKey("Label").Append(explicitTooLong).Fit(Data(ml, 16, new[] { "a", "b" })));
        Assert.AreEqual("MaxSequenceLength", ex.ParamName);
    }

    [TestMethod]
    public void ExplicitSequenceLengthBeyondTheTableIsAnErrorNamingTheOption()
    {
        var ml = new MLContext(1);
        var o = Options(EncoderParityTests.Checkpoint("bert-tiny"));
        o.MaxSequenceLength = 128;
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
            ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(Data(ml, 16, new[] { "a", "b" })));
        Assert.AreEqual("MaxSequenceLength", ex.ParamName);
        StringAssert.Contains(ex.Message, "40 tokens");
        o.MaxSequenceLength = 40;
        ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(Data(ml, 16, new[] { "a", "b" }));
    }

    [TestMethod]
    public void RobertaOffsetLeavesFortyOfFortyTwoPositions()
    {
        var roberta = CheckpointLoader.ReadConfig(EncoderParityTests.Checkpoint("roberta-tiny"));
        Assert.AreEqual(40, GwtTextClassificationTrainer.ResolveMaxSequenceLength(new GwtTextClassificationTrainer.Options(), roberta, "r"));
        var bertBase = TransformerConfig.Base();
        Assert.AreEqual(128, GwtTextClassificationTrainer.ResolveMaxSequenceLength(new GwtTextClassificationTrainer.Options(), bertBase, "b"));
        Assert.AreEqual(512, GwtTextClassificationTrainer.ResolveMaxSequenceLength(new GwtTextClassificationTrainer.Options { MaxSequenceLength = 512 }, bertBase, "b"));
    }

    [TestMethod]
    public void ClassifierCheckpointWithAnotherLabelCountFineTunesWithAFreshHead()
    {
        // A BertForSequenceClassification-style folder fine-tuned on 3 labels, used for a 2-label task.
        var source = EncoderParityTests.Checkpoint("bert-tiny");
        var folder = TestCheckpoints.NewFolder();
        foreach (var f in Directory.GetFiles(source).Where(f => !f.EndsWith(".safetensors", StringComparison.Ordinal) && !f.EndsWith("expected.json", StringComparison.Ordinal)))
        {
            File.Copy(f, Path.Combine(folder, Path.GetFileName(f)));
        }
        var config = CheckpointLoader.ReadConfig(source);
        using (var threeLabels = new TextClassificationModel(config, 3))
        {
            TestCheckpoints.WriteSafeTensors(Path.Combine(folder, "model.safetensors"), threeLabels.state_dict());
        }
        var ml = new MLContext(1);
        var messages = new List<string>();
        ml.Log += (_, e) => messages.Add(e.Message);
        var o = Options(folder);
        o.MaxSequenceLength = 32;
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o))
            .Fit(Data(ml, 16, new[] { "a", "b" }));
        Assert.AreEqual(2, model.LastTransformer.NumClasses);
        Assert.IsTrue(messages.Any(m => m.Contains("Re-initialized the classification head: the checkpoint's head has 3 labels, the task has 2", StringComparison.Ordinal)),
            string.Join(Environment.NewLine, messages.Where(m => m.Contains("head", StringComparison.OrdinalIgnoreCase))));

        // With 3 labels the head loads: no re-initialization line.
        messages.Clear();
        ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o))
            .Fit(Data(ml, 18, new[] { "a", "b", "c" }));
        Assert.IsFalse(messages.Any(m => m.Contains("Re-initialized", StringComparison.Ordinal)));
    }
}
