// A child process for the reliability tests: trains a small classifier on the shipped SpamAssassin data with a
// checkpoint folder, prints "step N" after every optimizer step, and writes the SHA-256 of the final weights, the step
// count and whether it resumed. With a hang step it stops (sleeps) right after printing that step, so that a test can kill
// it at a known point.
// With "stream" the data is streamed (no cache) through a shuffle pool smaller than the data, so an epoch's order comes
// from the source's seeded shuffling cursor, the pool and length-grouping windows of 2 batches (resuming at batch 3: one window skipped unread, one batch of the next).
// Given the shapes-sts.tsv sentence-pair data instead, it trains a sentence-similarity model the same way; given
// spamassassin-ner.tsv, a named-entity-recognition model (rows held in memory); given spamassassin-qa.tsv.gz, a
// question-answering model.
//   TestHost <data.tsv.gz | shapes-sts.tsv | spamassassin-ner.tsv | spamassassin-qa.tsv.gz> <checkpoint folder or -> <result file> [epochs] [hang step] [stream]
using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Trainers;

if (args[0].EndsWith("spamassassin-qa.tsv.gz", StringComparison.Ordinal))
{
    QuestionAnswerHost.Run(args);
    return;
}
if (args[0].EndsWith("shapes-sts.tsv", StringComparison.Ordinal))
{
    SentenceSimilarityHost.Run(args);
    return;
}
if (args[0].EndsWith("spamassassin-ner.tsv", StringComparison.Ordinal))
{
    NamedEntityRecognitionHost.Run(args);
    return;
}
var rows = new List<Row>();
using (var reader = new StreamReader(new GZipStream(File.OpenRead(args[0]), CompressionMode.Decompress)))
{
    reader.ReadLine();
    string? line;
    while ((line = reader.ReadLine()) is not null)
    {
        var f = line.Split('\t', 3);
        if (f[1] == "train")
        {
            rows.Add(new Row { Label = f[0], Text = f[2] });
        }
    }
}
var data = rows.Where(r => r.Label != "hard_ham").GroupBy(r => r.Label).SelectMany(g => g.Take(48)).ToList();
var ml = new MLContext(seed: 3);
int hangAt = args.Length > 4 ? int.Parse(args[4]) : -1;
var view = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(data)).Transform(ml.Data.LoadFromEnumerable(data));
bool stream = args.Length > 5 && args[5] == "stream";
if (stream)
{
    view = ml.Data.Cache(view); // a source that can shuffle: its seeded shuffling cursor orders each epoch
}
var options = new GwtTextClassificationTrainer.Options
{
    Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
    MaxCachedRows = stream ? 0 : 10_000, ShuffleBufferSize = stream ? 16 : 10_000, LengthGroupingWindow = stream ? 2 : 50,
    Sentence1ColumnName = "Text", BatchSize = 8, MaxEpochs = args.Length > 3 ? int.Parse(args[3]) : 2, MaxSequenceLength = 48,
    LearningRate = 1e-3, Seed = 11, CheckpointFolder = args[1] == "-" ? null : args[1], CheckpointEverySteps = 5,
    Progress = p =>
    {
        Console.WriteLine($"step {p.Step}");
        if (p.Step == hangAt)
        {
            Console.Out.Flush();
            Thread.Sleep(Timeout.Infinite);
        }
    },
};
var model = ml.MulticlassClassification.Trainers.Gwt(options).Fit(view);
using var ms = new MemoryStream();
SafeTensors.Save(ms, model.Model.state_dict());
File.WriteAllText(args[2], Convert.ToHexString(SHA256.HashData(ms.ToArray())) + " " + model.TrainingResult!.Steps + " " + model.TrainingResult.Resumed);

internal sealed class Row
{
    public string Label { get; set; } = "";
    public string Text { get; set; } = "";
}
