using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Trainers;

/// <summary>The named-entity-recognition run of the test host: 96 training sentences of spamassassin-ner, the same
/// checkpoint, progress, hang and result conventions as the classifier's run.</summary>
internal static class NamedEntityRecognitionHost
{
    public static void Run(string[] args)
    {
        var data = File.ReadLines(args[0]).Skip(1).Select(l => l.Split('\t')).Where(f => f[0] == "train").Take(96)
            .Select(f => new Tagged { Sentence = f[1], Tags = f[2].Split(' ') }).ToList();
        var ml = new MLContext(seed: 3);
        int hangAt = args.Length > 4 ? int.Parse(args[4]) : -1;
        var view = ml.Data.LoadFromEnumerable(data);
        view = ml.Transforms.Conversion.MapValueToKey("Label", nameof(Tagged.Tags)).Fit(view).Transform(view);
        var options = new GwtNamedEntityRecognitionTrainer.Options
        {
            Precision = GwtPrecision.Float32,
            BatchSize = 8, MaxEpochs = args.Length > 3 ? int.Parse(args[3]) : 2, MaxSequenceLength = 48,
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
        var model = ml.MulticlassClassification.Trainers.GwtNamedEntityRecognition(options).Fit(view);
        using var ms = new MemoryStream();
        SafeTensors.Save(ms, model.Model.state_dict());
        File.WriteAllText(args[2], Convert.ToHexString(SHA256.HashData(ms.ToArray())) + " " + model.TrainingResult!.Steps + " " + model.TrainingResult.Resumed);
    }

    private sealed class Tagged
    {
        public string Sentence { get; set; } = "";
        public string[] Tags { get; set; } = Array.Empty<string>();
    }
}
