using System.IO.Compression;
using System.Security.Cryptography;
using Microsoft.ML;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Trainers;

/// <summary>The question-answering run of the test host: the first 8 training questions of spamassassin-qa in
/// 64-token windows, with the same checkpoint, progress, hang and result conventions as the classifier's run.</summary>
internal static class QuestionAnswerHost
{
    public static void Run(string[] args)
    {
        var rows = new List<Question>();
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(args[0]), CompressionMode.Decompress)))
        {
            reader.ReadLine();
            while (reader.ReadLine() is { } line && rows.Count < 8)
            {
                var f = line.Split('\t');
                if (f[0] == "train")
                {
                    rows.Add(new Question { Context = f[3], Question_ = f[4], TrainingAnswer = f[5], AnswerIndex = int.Parse(f[6], System.Globalization.CultureInfo.InvariantCulture) });
                }
            }
        }
        var ml = new MLContext(seed: 3);
        int hangAt = args.Length > 4 ? int.Parse(args[4]) : -1;
        var options = new GwtQuestionAnswerTrainer.Options
        {
            QuestionColumnName = nameof(Question.Question_),
            Precision = GwtPrecision.Float32, BatchSize = 8, MaxEpochs = args.Length > 3 ? int.Parse(args[3]) : 2, MaxSequenceLength = 64,
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
        var model = ml.MulticlassClassification.Trainers.GwtQuestionAnswer(options).Fit(ml.Data.LoadFromEnumerable(rows));
        using var ms = new MemoryStream();
        SafeTensors.Save(ms, model.Model.state_dict());
        File.WriteAllText(args[2], Convert.ToHexString(SHA256.HashData(ms.ToArray())) + " " + model.TrainingResult!.Steps + " " + model.TrainingResult.Resumed);
    }

    private sealed class Question
    {
        public string Context { get; set; } = "";
        public string Question_ { get; set; } = "";
        public string TrainingAnswer { get; set; } = "";
        public int AnswerIndex { get; set; }
    }
}
