// Trains an extractive question-answering model (a transformer that points at the answer's span in a context) with
// GWT-compressed Adam on the shipped spamassassin-qa questions (real email text, generated questions; see
// data/spamassassin-qa/NOTICE), then does what an application does with it: evaluate (SQuAD's exact match and F1), save,
// load in a fresh MLContext, answer one question, and export it for ONNX Runtime, which answers without TorchSharp.
//
//   dotnet run --project samples/QuestionAnswering -c Release
//
// It trains on the first 1,000 training questions for 2 epochs (several minutes on 2 cores). GWT_SAMPLE_TRAIN_ROWS and
// GWT_SAMPLE_EPOCHS change that, and GWT_SAMPLE_TEST_ROWS scores only that many test questions (the tests use 32
// questions, 1 epoch and 60 test questions). The comparison with AdamW and the baselines in
// the README is bench/QuestionAnsweringComparison.
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Trainers;

var output = Directory.CreateDirectory("output").FullName;
var mlContext = new MLContext(seed: 42);

// The data: Split, Type, Kind, Context, Question, TrainingAnswer, AnswerIndex (tab-separated, gzip'd).
var rows = new List<(string Split, Question Row)>();
using (var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin-qa.tsv.gz")), CompressionMode.Decompress)))
{
    reader.ReadLine();
    while (reader.ReadLine() is { } line)
    {
        var f = line.Split('\t');
        rows.Add((f[0], new Question { Context = f[3], Text = f[4], TrainingAnswer = f[5], AnswerIndex = int.Parse(f[6], System.Globalization.CultureInfo.InvariantCulture) }));
    }
}
int trainRows = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_TRAIN_ROWS"), out int n) ? n : 1_000;
IDataView Of(string split, int count) => mlContext.Data.LoadFromEnumerable(rows.Where(r => r.Split == split).Take(count).Select(r => r.Row));
int testRows = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_TEST_ROWS"), out int t) ? t : int.MaxValue;
IDataView train = Of("train", trainRows), validation = Of("validation", Math.Min(200, testRows)), test = Of("test", testRows);

// ML.NET's QuestionAnswer columns: Context, Question, TrainingAnswer, AnswerIndex (the answer's character offset).
var trainer = mlContext.MulticlassClassification.Trainers.GwtQuestionAnswer(new GwtQuestionAnswerTrainer.Options
{
    // A Tiny encoder (2 layers x 128) trained from scratch with a vocabulary fitted to the training text; set
    // PretrainedModelPath to fine-tune a local Hugging Face checkpoint instead.
    QuestionColumnName = nameof(Question.Text),
    MaxEpochs = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_EPOCHS"), out int epochs) ? epochs : 2,
    BatchSize = 16, LearningRate = 5e-4, MaxSequenceLength = 128, // windows of 128 tokens; longer contexts overlap by 42
    Seed = 42,
    ValidationSet = validation,
    Progress = p =>
    {
        if (p.ValidationAccuracy is double f1)
        {
            Console.WriteLine($"epoch {p.Epoch}: validation loss {p.ValidationLoss:F4}, F1 {100 * f1:F2}");
        }
    },
});
Console.WriteLine("Training (GWT-Adam, level 2)");
var model = trainer.Fit(train);

var scored = model.Transform(test);   // adds Answer (top 3, best first) and Score (their probabilities)
var metrics = mlContext.MulticlassClassification.EvaluateQuestionAnswering(scored);
Console.WriteLine($"Test: exact match {metrics.ExactMatch:F2}, F1 {metrics.F1:F2} over {metrics.Rows} questions");

var modelPath = Path.Combine(output, "qa-model.zip");
mlContext.Model.Save(model, train.Schema, modelPath);
var fresh = new MLContext(seed: 1);
var loaded = fresh.Model.Load(modelPath, out _);
var engine = fresh.Model.CreatePredictionEngine<Question, Answers>(loaded);
var example = new Question
{
    Context = "Our new catalog is at http://www.example.com/catalog and costs $19.99; write to sales@example.com or visit http://www.example.com/help for help.",
    Text = "Which link comes right after \"or visit\"?",
};
var answers = engine.Predict(example);
Console.WriteLine($"'{example.Text}' -> {string.Join(", ", answers.Answer.Zip(answers.Score, (a, s) => $"'{a}' ({s:F3})"))}");

var onnxFolder = Path.Combine(output, "qa-onnx");
model.ExportForOnnxScoring(onnxFolder);
using var onnx = GwtOnnxQuestionAnswerTransformer.Load(mlContext, onnxFolder);
var onnxMetrics = mlContext.MulticlassClassification.EvaluateQuestionAnswering(onnx.Transform(test));
Console.WriteLine($"ONNX Runtime: test exact match {onnxMetrics.ExactMatch:F2}, F1 {onnxMetrics.F1:F2} over {onnxMetrics.Rows} questions");
model.Dispose();

internal sealed class Question
{
    public string Context { get; set; } = "";
    public string Text { get; set; } = "";
    public string TrainingAnswer { get; set; } = "";
    public int AnswerIndex { get; set; }
}

internal sealed class Answers
{
    public string[] Answer { get; set; } = Array.Empty<string>();
    public float[] Score { get; set; } = Array.Empty<float>();
}
