// Trains a named-entity-recognition model (a tag per word: EMAIL, URL, MONEY, PERCENT, PHONE, DATE, TIME in IOB2) with
// GWT-compressed Adam on the shipped spamassassin-ner sentences, then does what an application does with it: evaluate
// (entity-level precision, recall and F1 as seqeval/CoNLL count them, per entity type too), save, load in a fresh
// MLContext, tag one sentence, and export it for ONNX Runtime, which tags without TorchSharp.
//
//   dotnet run --project samples/NamedEntityRecognition -c Release
//
// It trains on the first 2,000 of the 6,000 training sentences for 3 epochs. For a quick try, GWT_SAMPLE_TRAIN_ROWS=300
// trains on the first 300 and GWT_SAMPLE_EPOCHS=1 for 1 epoch (the tests do both). The comparison with AdamW and the
// baselines in the README is bench/NamedEntityRecognitionComparison. The tags are rule-made (data/spamassassin-ner/NOTICE).
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.Trainers;

var output = Directory.CreateDirectory("output").FullName;

// One file with a header (Split, Sentence, Tags); Tags holds one tag per whitespace-separated word of Sentence.
var rows = File.ReadLines(Path.Combine(AppContext.BaseDirectory, "data", "spamassassin-ner.tsv")).Skip(1).Select(l => l.Split('\t'))
    .Select(f => (Split: f[0], Row: new Sentence { Text = f[1], Tags = f[2].Split(' ') })).ToList();
List<Sentence> Of(string split) => rows.Where(r => r.Split == split).Select(r => r.Row).ToList();
int trainRows = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_TRAIN_ROWS"), out int n) ? n : 2_000;

var mlContext = new MLContext(seed: 42);
IDataView train = mlContext.Data.LoadFromEnumerable(Of("train").Take(trainRows));
IDataView validation = mlContext.Data.LoadFromEnumerable(Of("validation")), test = mlContext.Data.LoadFromEnumerable(Of("test"));

// The label is a vector of keys, one per word: map the tag strings with one MapValueToKey (fitted on every tag name, so
// the validation and test tags have the same keys), as with ML.NET's NamedEntityRecognition trainer.
var tagNames = rows.SelectMany(r => r.Row.Tags).Distinct().Order(StringComparer.Ordinal).ToArray();
var toKeys = mlContext.Transforms.Conversion.MapValueToKey("Label", nameof(Sentence.Tags))
    .Fit(mlContext.Data.LoadFromEnumerable(new[] { new Sentence { Tags = tagNames } }));
var trainer = mlContext.MulticlassClassification.Trainers.GwtNamedEntityRecognition(new GwtNamedEntityRecognitionTrainer.Options
{
    // A Tiny encoder (2 layers x 128) trained from scratch with a vocabulary fitted to the training text; set
    // PretrainedModelPath to fine-tune a local Hugging Face checkpoint instead.
    LabelColumnName = "Label", OutputColumnName = "PredictedLabel", Sentence1ColumnName = nameof(Sentence.Text),
    MaxEpochs = int.TryParse(Environment.GetEnvironmentVariable("GWT_SAMPLE_EPOCHS"), out int epochs) ? epochs : 3,
    MaxSequenceLength = 96, LearningRate = 1e-3,
    Seed = 42, // fixed weights, shuffling and dropout (default: drawn from the MLContext's seed)
    ValidationSet = toKeys.Transform(validation),
    Progress = p =>
    {
        if (p.ValidationAccuracy is double f1)
        {
            Console.WriteLine($"epoch {p.Epoch}: validation loss {p.ValidationLoss:F4}, entity F1 {f1:F4}");
        }
    },
});
Console.WriteLine("Training (GWT-Adam, level 2: Adam's moments of the attention and feed-forward weights are 4x smaller)");
var model = trainer.Fit(toKeys.Transform(train));

var scored = model.Transform(toKeys.Transform(test));
var metrics = mlContext.MulticlassClassification.EvaluateNamedEntityRecognition(scored);
Console.WriteLine($"Test: entity F1 {metrics.F1:F4} (precision {metrics.Precision:F4}, recall {metrics.Recall:F4}), token accuracy {metrics.TokenAccuracy:F4}");
foreach (var (type, m) in metrics.PerType)
{
    Console.WriteLine($"  {type,-8} F1 {m.F1:F4}  precision {m.Precision:F4}  recall {m.Recall:F4}  support {m.Support}");
}

// The zip holds the tags, the encoder config, the tokenizer and the weights, each with a SHA-256. MapKeyToValue after the
// model turns the predicted keys back into tag strings.
var pipeline = model.Append(mlContext.Transforms.Conversion.MapKeyToValue("PredictedTags", "PredictedLabel").Fit(scored));
var modelPath = Path.Combine(output, "ner-model.zip");
mlContext.Model.Save(pipeline, train.Schema, modelPath);

// In another process (here: a fresh MLContext), load it and tag one sentence at a time.
var serving = new MLContext();
var loaded = serving.Model.Load(modelPath, out _);
var engine = serving.Model.CreatePredictionEngine<Sentence, Tagged>(loaded);
var sentence = new Sentence { Text = "Write to jane.doe@example.org before Aug 21 2002 and save 15% on orders over $250 at http://shop.example.com" };
var tags = engine.Predict(sentence).PredictedTags;
Console.WriteLine(string.Join(" ", sentence.Text.Split(' ').Zip(tags, (w, t) => t == "O" ? w : $"{w}/{t}")));

// Export for ONNX Runtime: a folder (model.onnx, tokenizer, tags) that an app referencing only the Microsoft.ML.Gwt.Onnx
// package scores, with no TorchSharp and no libtorch.
var onnxFolder = Path.Combine(output, "ner-onnx");
model.ExportForOnnxScoring(onnxFolder);
using var onnx = GwtOnnxNamedEntityRecognitionTransformer.Load(serving, onnxFolder);
var onnxKeys = onnx.Transform(toKeys.Transform(test)).GetColumn<VBuffer<uint>>("PredictedLabel").SelectMany(v => v.DenseValues()).ToArray();
var torchKeys = scored.GetColumn<VBuffer<uint>>("PredictedLabel").SelectMany(v => v.DenseValues()).ToArray();
Console.WriteLine($"ONNX Runtime: test entity F1 {serving.MulticlassClassification.EvaluateNamedEntityRecognition(onnx.Transform(toKeys.Transform(test))).F1:F4}, " +
    $"{onnxKeys.Zip(torchKeys).Count(p => p.First != p.Second)} of {onnxKeys.Length} word tags differ from TorchSharp's");
Console.WriteLine($"Files: {modelPath}, {onnxFolder}");

/// <summary>A sentence and its tags (one per whitespace-separated word).</summary>
public sealed class Sentence
{
    public string Text { get; set; } = "";
    public string[] Tags { get; set; } = Array.Empty<string>();
}

/// <summary>What the saved pipeline adds to a sentence: its predicted tags.</summary>
public sealed class Tagged
{
    public string[] PredictedTags { get; set; } = Array.Empty<string>();
}
