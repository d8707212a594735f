using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Tests.Modeling;
using Microsoft.ML.Gwt.Trainers;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>The question-answering trainer end to end on a slice of the shipped spamassassin-qa set: its columns,
/// Transform and PredictionEngine, save and load, the evaluator, a checkpoint's head, and errors naming columns.</summary>
[TestClass]
public sealed class QuestionAnswerTrainerTests
{
    internal static GwtQuestionAnswerTrainer.Options Fast(GwtOptimizerKind kind = GwtOptimizerKind.Gwt, int epochs = 2) => new()
    {
        Precision = GwtPrecision.Float32,
        MaxEpochs = epochs, BatchSize = 16, MaxSequenceLength = 64, Optimizer = kind, LearningRate = 1e-3, Seed = 7, LogEverySteps = 1000,
        ScoringBatchSize = 16,
    };

    private static readonly Lazy<(GwtQuestionAnswerTransformer Model, List<QaRow> Test)> Trained = new(() =>
    {
        var ml = new MLContext(1);
        var options = Fast();
        var test = SpamAssassinQaData.Take("validation", 8);
        options.ValidationSet = ml.Data.LoadFromEnumerable(test);
        var model = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(options).Fit(ml.Data.LoadFromEnumerable(SpamAssassinQaData.Take("train", 24)));
        return (model, test);
    });

    /// <summary>The model every test of the class shares (trained once; not disposed).</summary>
    internal static (GwtQuestionAnswerTransformer Model, List<QaRow> Test) TrainedModel() => Trained.Value;

    [TestMethod]
    public void TrainsAndAddsTopKAnswersThatAreSpansOfTheContextWithDescendingScores()
    {
        var (model, test) = Trained.Value;
        var result = model.TrainingResult!;
        Assert.HasCount(2, result.ValidationAccuracy, "an F1 after each epoch");
        Assert.IsTrue(result.TrainingLoss.Last() < result.TrainingLoss.First(), $"training loss {string.Join(", ", result.TrainingLoss)}");

        var ml = new MLContext(1);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(test));
        Assert.AreEqual(new VectorDataViewType(TextDataViewType.Instance), scored.Schema["Answer"].Type);
        Assert.AreEqual(new VectorDataViewType(NumberDataViewType.Single), scored.Schema["Score"].Type);
        var answers = scored.GetColumn<VBuffer<ReadOnlyMemory<char>>>("Answer").Select(v => v.DenseValues().Select(m => m.ToString()).ToArray()).ToList();
        var scores = scored.GetColumn<VBuffer<float>>("Score").Select(v => v.DenseValues().ToArray()).ToList();
        Assert.HasCount(test.Count, answers);
        for (int i = 0; i < test.Count; i++)
        {
            Assert.IsTrue(answers[i].Length is >= 1 and <= 3, $"row {i}: {answers[i].Length} answers");
            Assert.AreEqual(answers[i].Length, scores[i].Length);
            Assert.IsTrue(answers[i].All(a => test[i].Context.Contains(a, StringComparison.Ordinal)), $"row {i}: answers are context spans");
            Assert.IsTrue(scores[i].Zip(scores[i].Skip(1), (a, b) => a >= b).All(x => x), $"row {i}: scores descend");
            Assert.IsTrue(scores[i].Sum() <= 1.0001f && scores[i].All(s => s > 0));
        }
        var metrics = ml.MulticlassClassification.EvaluateQuestionAnswering(scored);
        Assert.AreEqual(test.Count, metrics.Rows);
        Assert.IsTrue(metrics.F1 >= metrics.ExactMatch);

        // Not disposed: a PredictionEngine disposes the transformer it was made from, which the other tests share.
        var engine = ml.Model.CreatePredictionEngine<QaRow, QaPrediction>(model);
        var one = engine.Predict(test[3]);
        CollectionAssert.AreEqual(answers[3], one.Answer);
        CollectionAssert.AreEqual(scores[3], one.Score);
    }

    [TestMethod]
    public void SavedAndLoadedItAnswersIdentically()
    {
        var (model, test) = Trained.Value;
        var ml = new MLContext(1);
        var data = ml.Data.LoadFromEnumerable(test);
        var path = Path.Combine(Path.GetTempPath(), $"qa-{Guid.NewGuid():N}.zip");
        try
        {
            ml.Model.Save(model, data.Schema, path);
            var loaded = (GwtQuestionAnswerTransformer)ml.Model.Load(path, out _);
            using (loaded)
            {
                Assert.AreEqual(model.Settings, loaded.Settings);
                foreach (var row in test)
                {
                    var a = model.Predict(row.Context, row.Question);
                    var b = loaded.Predict(row.Context, row.Question);
                    CollectionAssert.AreEqual(a, b, row.Question);
                }
            }
        }
        finally
        {
            File.Delete(path);
        }
    }

    [TestMethod]
    public void ALongContextIsAnsweredAcrossWindowsWithTheAnswersCharacterOffset()
    {
        var (model, test) = Trained.Value;
        var row = test.OrderByDescending(r => r.Context.Length).First();
        var words = ContextWords.Split(row.Context);
        var windows = QuestionAnswerWindows.Encode(model.Tokenizer, words, row.Question, model.Settings.Layout);
        Assert.IsGreaterThan(1, windows.Count, "the context spans several 64-token windows");
        foreach (var answer in model.Predict(row.Context, row.Question))
        {
            Assert.AreEqual(answer.Text, row.Context.Substring(answer.Start, answer.Text.Length));
        }
    }

    [TestMethod]
    public void FineTuningACheckpointWithASpanHeadKeepsItsHead()
    {
        var folder = EncoderParityTests.Checkpoint("bert-qa-tiny");
        var ml = new MLContext(1);
        var rows = Enumerable.Range(0, 8).Select(i => new QaRow { Context = "the cat sat on the mat", Question = "where ?", TrainingAnswer = "mat", AnswerIndex = 19 }).ToList();
        var options = Fast(epochs: 1);
        options.PretrainedModelPath = folder;
        options.LearningRate = 1e-12;
        options.MaxSequenceLength = 16;
        using var model = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(options).Fit(ml.Data.LoadFromEnumerable(rows));
        var config = Microsoft.ML.Gwt.Modeling.CheckpointLoader.ReadConfig(folder);
        using var reference = new Microsoft.ML.Gwt.Modeling.TextClassificationModel(config, 2, Microsoft.ML.Gwt.Modeling.TextHeadKind.QuestionAnswering);
        Microsoft.ML.Gwt.Modeling.CheckpointLoader.LoadClassifier(reference, folder);
        using (no_grad())
        {
            var expected = reference.state_dict()["qa_outputs.weight"].data<float>().ToArray();
            var ours = model.Model.state_dict()["qa_outputs.weight"].cpu().data<float>().ToArray();
            Assert.IsLessThan(1e-6, expected.Zip(ours, (e, a) => Math.Abs(e - a)).Max(), "qa_outputs loaded from the checkpoint");
        }
    }

    [TestMethod]
    [DataRow("bert-qa-tiny")]
    [DataRow("xlm-roberta-qa-tiny")]
    [DataRow("distilbert-tiny")]
    [DataRow("electra-tiny")]
    [DataRow("deberta-v3-tiny")]
    [DataRow("roberta-tiny")]
    public void EveryFamilyFineTunesAndAnswersWithSpansOfTheContext(string name)
    {
        var ml = new MLContext(1);
        var options = Fast(epochs: 1);
        options.PretrainedModelPath = EncoderParityTests.Checkpoint(name);
        options.MaxSequenceLength = 32;
        options.BatchSize = 32;
        var rows = SpamAssassinQaData.Take("train", 1);
        using var model = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(options).Fit(ml.Data.LoadFromEnumerable(rows));
        Assert.IsNotEmpty(model.TrainingResult!.TrainingLoss);
        Assert.IsTrue(model.TrainingResult.TrainingLoss.All(double.IsFinite), name);
        var row = rows[0];
        var answers = model.Predict(row.Context, row.Question);
        Assert.IsNotEmpty(answers, name);
        foreach (var a in answers)
        {
            Assert.AreEqual(a.Text, row.Context.Substring(a.Start, a.Text.Length), name);
        }
    }

    private sealed class FloatIndex
    {
        public string Context { get; set; } = "";
        public string Question { get; set; } = "";
        public string TrainingAnswer { get; set; } = "";
        public float AnswerIndex { get; set; }
    }

    [TestMethod]
    public void WrongColumnsAreNamed()
    {
        var ml = new MLContext(1);
        var rows = ml.Data.LoadFromEnumerable(new[] { new FloatIndex { Context = "a b", Question = "q", TrainingAnswer = "b", AnswerIndex = 2 } });
        var trainer = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(Fast());
        var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(rows));
        StringAssert.Contains(e.Message, "answer index column 'AnswerIndex'");
        StringAssert.Contains(e.Message, "expected Int32");

        var renamed = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(contextColumnName: "Passage");
        var missing = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => renamed.Fit(rows));
        StringAssert.Contains(missing.Message, "context column 'Passage'");

        var wrong = ml.Data.LoadFromEnumerable(new[] { new QaRow { Context = "a b", Question = "q", TrainingAnswer = "c", AnswerIndex = 2 } });
        var none = Assert.ThrowsExactly<ArgumentException>(() => trainer.Fit(wrong));
        StringAssert.Contains(none.Message, "'TrainingAnswer'");
        StringAssert.Contains(none.Message, "'AnswerIndex'");

        var bad = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.GwtQuestionAnswer(topK: 0));
        StringAssert.Contains(bad.Message, "TopKAnswers");
    }

    [TestMethod]
    public void GwtKeepsLessOptimizerStateThanAdamWAndBFloat16ScoringIsSavedAndKeepsTheAnswers()
    {
        var (model, test) = Trained.Value;
        var ml = new MLContext(1);
        using var adamw = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(Fast(GwtOptimizerKind.AdamW, epochs: 1))
            .Fit(ml.Data.LoadFromEnumerable(SpamAssassinQaData.Take("train", 24)));
        Assert.IsLessThan(adamw.TrainingResult!.OptimizerStateBytes, model.TrainingResult!.OptimizerStateBytes,
            $"GWT {model.TrainingResult.OptimizerStateBytes} B against AdamW {adamw.TrainingResult.OptimizerStateBytes} B");

        var float32 = test.Select(r => model.Predict(r.Context, r.Question)).ToList();
        var path = Path.Combine(Path.GetTempPath(), $"qa-bf16-{Guid.NewGuid():N}.zip");
        model.ScoringPrecision = GwtPrecision.BFloat16;
        try
        {
            var bfloat16 = test.Select(r => model.Predict(r.Context, r.Question)).ToList();
            for (int i = 0; i < test.Count; i++)
            {
                // bfloat16 keeps 8 bits of mantissa: close candidates may swap, the float32 best stays among the top k.
                Assert.IsTrue(bfloat16[i].Any(a => a.Start == float32[i][0].Start && a.Text == float32[i][0].Text),
                    $"row {i}: float32's best answer '{float32[i][0].Text}' is among bfloat16's top {bfloat16[i].Length}");
            }
            ml.Model.Save(model, ml.Data.LoadFromEnumerable(test).Schema, path);
            using var loaded = (GwtQuestionAnswerTransformer)ml.Model.Load(path, out _);
            Assert.AreEqual(GwtPrecision.BFloat16, loaded.ScoringPrecision, "the scoring precision is saved with the model");
            for (int i = 0; i < test.Count; i++)
            {
                CollectionAssert.AreEqual(bfloat16[i], loaded.Predict(test[i].Context, test[i].Question), $"row {i}");
            }
        }
        finally
        {
            model.ScoringPrecision = GwtPrecision.Float32; // the other tests share the model
            File.Delete(path);
        }
    }

    [TestMethod]
    public void TheCatalogHasMlNetsNamesOrderAndDefaults()
    {
        var ml = new MLContext(1);
        var o = ml.MulticlassClassification.Trainers.GwtQuestionAnswer().TrainerOptions;
        Assert.AreEqual(("Context", "Question", "TrainingAnswer", "AnswerIndex", "Answer", "Score"),
            (o.ContextColumnName, o.QuestionColumnName, o.TrainingAnswerColumnName, o.AnswerIndexColumnName, o.PredictedAnswerColumnName, o.ScoreColumnName));
        Assert.AreEqual((3, 4, 10), (o.TopKAnswers, o.BatchSize, o.MaxEpochs));
        var names = typeof(GwtCatalog).GetMethods().Where(m => m.Name == nameof(GwtCatalog.GwtQuestionAnswer) && m.GetParameters().Length > 2).Single()
            .GetParameters().Skip(1).Take(10).Select(p => p.Name).ToArray();
        CollectionAssert.AreEqual(new[] { "contextColumnName", "questionColumnName", "trainingAnswerColumnName", "answerIndexColumnName",
            "predictedAnswerColumnName", "scoreColumnName", "topK", "batchSize", "maxEpochs", "validationSet" }, names);
        Assert.AreEqual(new QuestionAnswerLayout(128, 42, 64, 30), new GwtQuestionAnswerTrainer.Options().Layout());
    }
}
