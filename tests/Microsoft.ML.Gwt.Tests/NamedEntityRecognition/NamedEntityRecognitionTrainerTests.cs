using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary><c>mlContext.MulticlassClassification.Trainers.GwtNamedEntityRecognition</c> end to end on a tiny
/// from-scratch model: the output vector of keys (one per word, the label's key values), the evaluator, Save/Load,
/// <c>PredictionEngine</c>, truncation, and the errors for wrong columns and rows.</summary>
[TestClass]
public sealed class NamedEntityRecognitionTrainerTests
{
    internal static GwtNamedEntityRecognitionTrainer.Options Fast(GwtOptimizerKind kind = GwtOptimizerKind.Gwt, int epochs = 2) => new()
    {
        Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
        MaxEpochs = epochs, BatchSize = 16, MaxSequenceLength = 128, Optimizer = kind, LearningRate = 1e-3, Seed = 7, LogEverySteps = 1000,
        ScoringBatchSize = 16,
    };

    private static uint[][] Keys(IDataView scored, string column) =>
        scored.GetColumn<VBuffer<uint>>(column).Select(v => v.DenseValues().ToArray()).ToArray();

    [TestMethod]
    public void TagsEachWordWithTheLabelsKeysAndTheEvaluatorReadsThem()
    {
        var (ml, train, test) = SpamAssassinNerData.Keyed(240, 50);
        var options = Fast();
        options.ValidationSet = test;
        using var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(options).Fit(train);

        var scored = model.Transform(test);
        var output = scored.Schema["PredictedLabel"];
        var label = scored.Schema["Label"];
        Assert.IsInstanceOfType<VectorDataViewType>(output.Type);
        var itemType = (KeyDataViewType)((VectorDataViewType)output.Type).ItemType;
        Assert.AreEqual(((KeyDataViewType)((VectorDataViewType)label.Type).ItemType).Count, itemType.Count, "as many keys as the label");
        VBuffer<ReadOnlyMemory<char>> outNames = default, labelNames = default;
        output.Annotations.GetValue("KeyValues", ref outNames);
        label.Annotations.GetValue("KeyValues", ref labelNames);
        CollectionAssert.AreEqual(labelNames.DenseValues().Select(v => v.ToString()).ToArray(), outNames.DenseValues().Select(v => v.ToString()).ToArray());

        var rows = SpamAssassinNerData.Take("test", 50);
        var predicted = Keys(scored, "PredictedLabel");
        CollectionAssert.AreEqual(rows.Select(r => r.Sentence.Split(' ').Length).ToArray(), predicted.Select(p => p.Length).ToArray(), "one key per word");

        // MapKeyToValue gives tag strings back.
        var tags = ml.Transforms.Conversion.MapKeyToValue("PredictedTags", "PredictedLabel").Fit(scored).Transform(scored)
            .GetColumn<VBuffer<ReadOnlyMemory<char>>>("PredictedTags").Select(v => v.DenseValues().Select(t => t.ToString()).ToArray()).ToArray();
        CollectionAssert.AreEqual(model.PredictTags(rows.Select(r => (string?)r.Sentence).ToList()).SelectMany(t => t).ToArray(), tags.SelectMany(t => t).ToArray());

        var m = ml.MulticlassClassification.EvaluateNamedEntityRecognition(scored);
        var reference = GwtNamedEntityRecognitionMetrics.Compute(rows.Select(r => (IReadOnlyList<string>)r.Tags).ToList(), tags);
        Assert.AreEqual(reference.F1, m.F1, 1e-12);
        Assert.AreEqual(50, m.Sentences);
        Assert.IsGreaterThan(0.8, m.TokenAccuracy, $"token accuracy {m.TokenAccuracy} (most words are O)");

        var result = model.TrainingResult!;
        Assert.HasCount(2, result.ValidationLoss, "one validation loss per epoch");
        Assert.HasCount(2, result.ValidationAccuracy, "one validation entity F1 per epoch");
        Assert.AreEqual(m.F1, result.ValidationAccuracy[^1], 1e-9, "validation score = entity F1 of the final model (no word cut at 128 tokens)");
    }

    [TestMethod]
    public void SavesLoadsAndPredictsTheSameThroughAPredictionEngine()
    {
        var (ml, train, test) = SpamAssassinNerData.Keyed(120, 20);
        using var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(Fast(epochs: 1)).Fit(train);
        var before = Keys(model.Transform(test), "PredictedLabel");
        var path = Path.Combine(Path.GetTempPath(), $"ner-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, train.Schema, path);
            var loaded = ml.Model.Load(path, out _);
            Assert.IsInstanceOfType<GwtNamedEntityRecognitionTransformer>(loaded);
            CollectionAssert.AreEqual(before.SelectMany(k => k).ToArray(), Keys(loaded.Transform(test), "PredictedLabel").SelectMany(k => k).ToArray());

            var pipeline = loaded.Append(ml.Transforms.Conversion.MapKeyToValue("PredictedTags", "PredictedLabel").Fit(loaded.Transform(test)));
            var engine = ml.Model.CreatePredictionEngine<TaggedSentence, TaggedPrediction>(pipeline, ignoreMissingColumns: true, inputSchemaDefinition: null);
            var row = SpamAssassinNerData.Take("test", 1)[0];
            var p = engine.Predict(row);
            CollectionAssert.AreEqual(((GwtNamedEntityRecognitionTransformer)loaded).PredictTags(new[] { row.Sentence })[0], p.PredictedTags);
            ((IDisposable)loaded).Dispose();
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void WordsCutByTruncationGetTheMostFrequentTag()
    {
        var (ml, train, _) = SpamAssassinNerData.Keyed(60, 1);
        var options = Fast(epochs: 1);
        options.MaxSequenceLength = 8;
        using var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(options).Fit(train);
        var words = Enumerable.Range(0, 40).Select(i => $"w{i}").ToArray();
        var tags = model.PredictTags(new[] { string.Join("  ", words) + " " })[0];
        Assert.HasCount(40, tags, "one tag per whitespace-separated word, however many spaces");
        Assert.IsTrue(tags.Skip(8).All(t => t == "O"), string.Join(" ", tags));
        Assert.IsEmpty(model.PredictTags(new string?[] { null })[0]);
    }

    private sealed class ScalarLabel
    {
        public string Sentence { get; set; } = "";
        public string Tag { get; set; } = "";
    }

    [TestMethod]
    public void WrongColumnsAndRowsAreNamedErrors()
    {
        var ml = new MLContext(seed: 1);
        var scalar = ml.Data.LoadFromEnumerable(new[] { new ScalarLabel { Sentence = "a b", Tag = "O" } });
        scalar = ml.Transforms.Conversion.MapValueToKey("Label", "Tag").Fit(scalar).Transform(scalar);
        var trainer = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(Fast());
        var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(scalar));
        Assert.AreEqual("Label", ex.ParamName);
        StringAssert.Contains(ex.Message, "expected a vector of Key<UInt32>");

        var (ml2, train, _) = SpamAssassinNerData.Keyed(5, 1);
        var noText = ml2.MulticlassClassification.Trainers.GwtNamedEntityRecognition(sentence1ColumnName: "Text");
        Assert.AreEqual("Text", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => noText.Fit(train)).ParamName);

        var rows = SpamAssassinNerData.Take("train", 5);
        rows[3] = new TaggedSentence { Sentence = rows[3].Sentence + " extra", Tags = rows[3].Tags };
        var view = ml2.Data.LoadFromEnumerable(rows);
        view = ml2.Transforms.Conversion.MapValueToKey("Label", "Tags").Fit(view).Transform(view);
        var mismatch = Assert.ThrowsExactly<ArgumentException>(() => ml2.MulticlassClassification.Trainers.GwtNamedEntityRecognition(Fast()).Fit(view));
        StringAssert.Contains(mismatch.Message, "Row 3");
        StringAssert.Contains(mismatch.Message, "'Sentence'");
        StringAssert.Contains(mismatch.Message, "'Label'");

        var two = new GwtNamedEntityRecognitionTrainer.Options { Sentence2ColumnName = "Other" };
        Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml2.MulticlassClassification.Trainers.GwtNamedEntityRecognition(two));
    }

    [TestMethod]
    public void GwtKeepsLessOptimizerStateThanAdamWAndBFloat16ScoringAgreesWithFloat32()
    {
        var (ml, train, test) = SpamAssassinNerData.Keyed(60, 30);
        using var gwt = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(Fast(GwtOptimizerKind.Gwt, epochs: 1)).Fit(train);
        using var adamw = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(Fast(GwtOptimizerKind.AdamW, epochs: 1)).Fit(train);
        Assert.IsLessThan(adamw.TrainingResult!.OptimizerStateBytes, gwt.TrainingResult!.OptimizerStateBytes,
            $"GWT {gwt.TrainingResult.OptimizerStateBytes} B against AdamW {adamw.TrainingResult.OptimizerStateBytes} B");

        var float32 = Keys(gwt.Transform(test), "PredictedLabel").SelectMany(k => k).ToArray();
        gwt.ScoringPrecision = GwtPrecision.BFloat16;
        var bfloat16 = Keys(gwt.Transform(test), "PredictedLabel").SelectMany(k => k).ToArray();
        Assert.HasCount(float32.Length, bfloat16);
        double agreement = float32.Zip(bfloat16).Count(p => p.First == p.Second) / (double)float32.Length;
        Assert.IsGreaterThan(0.95, agreement, $"bfloat16 tags agree with float32 on {agreement:P1} of the words");
    }

    [TestMethod]
    public void TheEstimatorPromisesAVectorOfKeysWithTheLabelsKeyValues()
    {
        var (ml, train, _) = SpamAssassinNerData.Keyed(5, 1);
        var shape = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition().GetOutputSchema(Microsoft.ML.Gwt.Tests.Trainers.LabelTypesTests.ShapeOf(train.Schema));
        var output = shape.Single(c => c.Name == "PredictedLabel");
        Assert.IsTrue(output.IsKey);
        Assert.AreEqual(SchemaShape.Column.VectorKind.VariableVector, output.Kind);
        Assert.IsTrue(output.Annotations.Any(a => a.Name == "KeyValues"));
        var wrong = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(labelColumnName: "Tags")
            .GetOutputSchema(Microsoft.ML.Gwt.Tests.Trainers.LabelTypesTests.ShapeOf(train.Schema)));
        Assert.AreEqual("Tags", wrong.ParamName);
    }
}
