// Extractive question answering on spamassassin-qa (data/spamassassin-qa, constructed from real email text; see its
// NOTICE): GWT-Adam and AdamW side by side, the same Tiny encoder trained from scratch with the same options and seed,
// against the most frequent training answer (computed here) and the baselines of data/spamassassin-qa/baselines.py
// (sliding-window lexical overlap; the type rule that built the set), all scored with SQuAD v1.1's exact match and F1.
// Settings are chosen on the validation split only; the test split is scored once per run, at the end.
//   dotnet run --project bench/QuestionAnsweringComparison -c Release -- [epochs] [learning rate] [batch size] [optimizers: gwt,adamw] [training questions] [max sequence length]
using System.Diagnostics;
using System.Globalization;
using System.IO.Compression;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Evaluation;
using Microsoft.ML.Gwt.Trainers;

var inv = CultureInfo.InvariantCulture;
int epochs = args.Length > 0 ? int.Parse(args[0], inv) : 3;
double lr = args.Length > 1 ? double.Parse(args[1], inv) : 5e-4;
int batch = args.Length > 2 ? int.Parse(args[2], inv) : 16;
var optimizers = (args.Length > 3 ? args[3] : "gwt,adamw").Split(',').Select(o => o == "gwt" ? GwtOptimizerKind.Gwt : GwtOptimizerKind.AdamW).ToList();
int maxLength = args.Length > 5 ? int.Parse(args[5], inv) : 128;

var rows = new List<(string Split, Question Row)>();
using (var reader = new StreamReader(new GZipStream(File.OpenRead(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin-qa.tsv.gz")), CompressionMode.Decompress)))
{
    reader.ReadLine();
    while (reader.ReadLine() is { } line)
    {
        var f = line.Split('\t');
        rows.Add((f[0], new Question { Context = f[3], Text = f[4], TrainingAnswer = f[5], AnswerIndex = int.Parse(f[6], inv) }));
    }
}
List<Question> Of(string split) => rows.Where(r => r.Split == split).Select(r => r.Row).ToList();
var (train, validation, test) = (Of("train"), Of("validation"), Of("test"));
if (args.Length > 4)
{
    train = train.Take(int.Parse(args[4], inv)).ToList();
}
Console.WriteLine($"spamassassin-qa: train {train.Count}, validation {validation.Count}, test {test.Count} questions; {Environment.ProcessorCount} logical processors");

string Line(string name, GwtQuestionAnsweringMetrics m, string extra = "") => $"| {name} | {m.ExactMatch:F2} | {m.F1:F2} |{extra}";
var table = new List<string> { "| model | test EM | test F1 | validation F1 (best epoch) | train time | Adam state |", "|---|---|---|---|---|---|" };
var frequent = train.GroupBy(q => q.TrainingAnswer).OrderByDescending(g => g.Count()).First().Key;
var gold = test.Select(q => (IReadOnlyList<string>)new[] { q.TrainingAnswer }).ToList();
table.Add(Line($"most frequent training answer ('{frequent}')", GwtQuestionAnsweringMetrics.Compute(test.Select(_ => (string?)frequent).ToList(), gold), " – | – | – |"));
Console.WriteLine(table[^1]);

foreach (var kind in optimizers)
{
    var ml = new MLContext(seed: 1);
    var options = new GwtQuestionAnswerTrainer.Options
    {
        QuestionColumnName = nameof(Question.Text),
        Precision = GwtPrecision.Float32, Optimizer = kind, MaxEpochs = epochs, LearningRate = lr, BatchSize = batch, MaxSequenceLength = maxLength,
        Seed = 42, ValidationSet = ml.Data.LoadFromEnumerable(validation), EarlyStoppingPatience = epochs, // keep the best validation epoch
        LogEverySteps = 100_000, ScoringBatchSize = 32,
        Progress = p =>
        {
            if (p.ValidationAccuracy is double f1)
            {
                Console.WriteLine($"{kind} epoch {p.Epoch}: validation loss {p.ValidationLoss:F4}, F1 {100 * f1:F2}");
            }
        },
    };
    var clock = Stopwatch.StartNew();
    using var model = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(options).Fit(ml.Data.LoadFromEnumerable(train));
    var time = clock.Elapsed;
    var metrics = ml.MulticlassClassification.EvaluateQuestionAnswering(model.Transform(ml.Data.LoadFromEnumerable(test)));
    var result = model.TrainingResult!;
    int best = result.ValidationAccuracy.IndexOf(result.ValidationAccuracy.Max()) + 1;
    table.Add(Line($"{kind}, Tiny from scratch, {train.Count} questions, {epochs} epochs, lr {lr.ToString(inv)}, batch {batch}, {maxLength} tokens", metrics,
        $" {100 * result.BestValidationAccuracy:F2} ({best}) | {time.TotalSeconds:F0} s | {result.OptimizerStateBytes / 1048576.0:F2} MB |"));
    Console.WriteLine(table[^1]);
}
Console.WriteLine();
Console.WriteLine(string.Join(Environment.NewLine, table));

internal sealed class Question
{
    public string Context { get; set; } = "";
    public string Text { get; set; } = "";
    public string TrainingAnswer { get; set; } = "";
    public int AnswerIndex { get; set; }
}
