using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Trainers;

/// <summary>The sentence-similarity run of the test host: 96 training pairs of shapes-sts, the same checkpoint, progress,
/// hang and result conventions as the classifier's run.</summary>
internal static class SentenceSimilarityHost
{
    public static void Run(string[] args)
    {
        var data = File.ReadLines(args[0]).Skip(1).Select(l => l.Split('\t')).Where(f => f[1] == "train").Take(96)
            .Select(f => new Pair { Label = float.Parse(f[0], System.Globalization.CultureInfo.InvariantCulture), Sentence1 = f[2], Sentence2 = f[3] }).ToList();
        var ml = new MLContext(seed: 3);
        int hangAt = args.Length > 4 ? int.Parse(args[4]) : -1;
        bool stream = args.Length > 5 && args[5] == "stream";
        var view = ml.Data.LoadFromEnumerable(data);
        if (stream)
        {
            view = ml.Data.Cache(view); // a source that can shuffle: its seeded shuffling cursor orders each epoch
        }
        var options = new GwtSentenceSimilarityTrainer.Options
        {
            Precision = GwtPrecision.Float32,
            MaxCachedRows = stream ? 0 : 10_000, ShuffleBufferSize = stream ? 16 : 10_000, LengthGroupingWindow = stream ? 2 : 50,
            BatchSize = 8, MaxEpochs = args.Length > 3 ? int.Parse(args[3]) : 2, MaxSequenceLength = 32,
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
        var model = ml.Regression.Trainers.GwtSentenceSimilarity(options).Fit(view);
        using var ms = new MemoryStream();
        SafeTensors.Save(ms, model.Model.state_dict());
        File.WriteAllText(args[2], Convert.ToHexString(SHA256.HashData(ms.ToArray())) + " " + model.TrainingResult!.Steps + " " + model.TrainingResult.Resumed);
    }

    private sealed class Pair
    {
        public float Label { get; set; }
        public string Sentence1 { get; set; } = "";
        public string Sentence2 { get; set; } = "";
    }
}
