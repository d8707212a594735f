using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Tests.Training;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Fit reads its data through cursors epoch by epoch (issue 13), with the streaming options wired through.</summary>
[TestClass]
public sealed class StreamingFitTests
{
    private static readonly string[] Words = { "cat", "dog", "sat", "mat", "sun", "rain", "hello", "world", "fast", "slow", "big", "small" };

    /// <summary>Rows of 1 to 12 words (so lengths differ), labelled by whether "cat" is among them.</summary>
    private static (MLContext Ml, IDataView Train, IDataView Validation) Data(int rows)
    {
        var ml = new MLContext(seed: 1);
        var rng = new Random(4);
        var items = Enumerable.Range(0, rows).Select(_ =>
        {
            var text = string.Join(' ', Enumerable.Range(0, 1 + rng.Next(12)).Select(_ => Words[rng.Next(Words.Length)]));
            return new Email { Label = text.Contains("cat") ? "cat" : "none", Text = text };
        }).ToList();
        var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(items));
        return (ml, map.Transform(ml.Data.LoadFromEnumerable(items)), map.Transform(ml.Data.LoadFromEnumerable(items.Take(12).ToList())));
    }

    private static GwtTextClassificationTrainer.Options Options() => new()
    {
        Precision = GwtPrecision.Float32, // pinned: the assertions assume float32 numerics on every CPU
        Sentence1ColumnName = "Text", MaxEpochs = 2, BatchSize = 4, MaxSequenceLength = 16, LearningRate = 1e-3, Seed = 3,
        MaxVocabularySize = 64, LogEverySteps = 1000,
    };

    private static Dictionary<string, float[]> Train(MLContext ml, IDataView data, GwtTextClassificationTrainer.Options o) =>
        TrainingLoopTests.Weights(ml.MulticlassClassification.Trainers.Gwt(o).Fit(data).Model);

    [TestMethod]
    public void StreamedFitOpensOneCursorPerEpochPlusTheScanAndReadsOnlyAWindowAhead()
    {
        var (ml, train, validation) = Data(120);
        var counting = new CountingDataView(train);
        var countingValidation = new CountingDataView(validation);
        var o = Options();
        o.MaxCachedRows = 0;
        o.ShuffleBufferSize = 8;
        o.LengthGroupingWindow = 2;
        o.PrefetchBatches = 2;
        o.ValidationSet = countingValidation;
        long readAtFirstStep = -1;
        o.EngineHooks = new TrainingEngineHooks
        {
            BeforeOptimizerStep = s =>
            {
                if (readAtFirstStep < 0)
                {
                    readAtFirstStep = Interlocked.Read(ref counting.RowsReadByLastCursor);
                }
            },
        };
        ml.MulticlassClassification.Trainers.Gwt(o).Fit(counting);
        Assert.AreEqual(3, counting.Cursors, "one scan (counts, hash, vocabulary) and one cursor per epoch");
        Assert.AreEqual(3 * 120, counting.RowsRead);
        Assert.AreEqual(3, countingValidation.Cursors, "one scan and one cursor per validation");
        // At the first step the epoch's cursor has read the shuffle pool (8 rows) and at most the producer's windows:
        // the queue (2 batches), the batch in training and one window being assembled (2 batches of 4 rows each).
        Assert.IsTrue(readAtFirstStep is > 0 and <= 8 + 4 * 8, $"{readAtFirstStep} of 120 rows read at the first step");
    }

    [TestMethod]
    public void ThePrefetchDefaultUsesAProducerOnlyWhenACoreIsFreeForIt()
    {
        // Explicit values win; unset: 4 on CUDA or with more logical processors than TorchSharp threads, else 0.
        Assert.AreEqual(0, StreamingSettings.ResolvePrefetch(null, cuda: false, logicalProcessors: 2, torchThreads: 2));
        Assert.AreEqual(0, StreamingSettings.ResolvePrefetch(null, cuda: false, logicalProcessors: 4, torchThreads: 4));
        Assert.AreEqual(4, StreamingSettings.ResolvePrefetch(null, cuda: false, logicalProcessors: 5, torchThreads: 4));
        Assert.AreEqual(4, StreamingSettings.ResolvePrefetch(null, cuda: true, logicalProcessors: 2, torchThreads: 2));
        Assert.AreEqual(0, StreamingSettings.ResolvePrefetch(0, cuda: true, logicalProcessors: 16, torchThreads: 2));
        Assert.AreEqual(7, StreamingSettings.ResolvePrefetch(7, cuda: false, logicalProcessors: 2, torchThreads: 2));

        // Fit: which threads read the streamed rows, against the training thread (the one that steps the optimizer).
        bool coreFree = Environment.ProcessorCount > TorchSharp.torch.get_num_threads();
        foreach (int? prefetch in new int?[] { null, 0, 2 })
        {
            var (ml, train, _) = Data(40);
            var counting = new CountingDataView(train);
            var o = Options();
            o.MaxCachedRows = 0;
            o.PrefetchBatches = prefetch;
            int trainingThread = -1;
            o.EngineHooks = new TrainingEngineHooks { BeforeOptimizerStep = _ => trainingThread = Environment.CurrentManagedThreadId };
            ml.MulticlassClassification.Trainers.Gwt(o).Fit(counting);
            bool producer = counting.ReaderThreads.Keys.Any(t => t != trainingThread);
            bool expected = prefetch is null ? coreFree : prefetch > 0;
            Assert.AreEqual(expected, producer,
                $"PrefetchBatches {prefetch?.ToString() ?? "null"} ({Environment.ProcessorCount} logical processors, {TorchSharp.torch.get_num_threads()} TorchSharp threads): rows read by a producer thread");
        }
    }

    [TestMethod]
    public void CachedFitReadsTheDataOnceAndGivesTheStreamedWeights()
    {
        var (ml, train, validation) = Data(40);
        var counting = new CountingDataView(train);
        var o = Options();
        o.ValidationSet = validation;
        o.MaxCachedRows = 40;
        o.PrefetchBatches = 0;
        var cached = Train(ml, counting, o);
        Assert.AreEqual(1, counting.Cursors, "the scan caches 40 rows: no cursor per epoch");

        var streamedOptions = Options();
        streamedOptions.ValidationSet = validation;
        streamedOptions.MaxCachedRows = 0;
        streamedOptions.PrefetchBatches = 3;
        var streamed = Train(ml, counting, streamedOptions);
        Assert.AreEqual(1 + 3, counting.Cursors, "streamed: a scan and two epochs");
        foreach (var (name, w) in cached)
        {
            CollectionAssert.AreEqual(w, streamed[name], $"{name}: identical weights cached without prefetching and streamed with it");
        }
    }

    [TestMethod]
    public void ShufflingAndLengthGroupingOptionsChangeTheBatches()
    {
        var (ml, train, _) = Data(40);
        var baseline = Train(ml, train, Options());
        foreach (var (name, change) in new (string, Action<GwtTextClassificationTrainer.Options>)[]
        {
            ("ShuffleBufferSize = 1", o => o.ShuffleBufferSize = 1),
            ("GroupByLength = false", o => o.GroupByLength = false),
            ("LengthGroupingWindow = 2", o => o.LengthGroupingWindow = 2),
        })
        {
            var o = Options();
            change(o);
            var other = Train(ml, train, o);
            Assert.IsTrue(baseline.Any(kv => !kv.Value.SequenceEqual(other[kv.Key])), $"{name} trains on other batches");
        }
    }

    [TestMethod]
    public void StreamedDataLargerThanThePoolUsesTheSourcesShufflingCursor()
    {
        var (ml, train, _) = Data(40);
        var o = Options();
        o.MaxCachedRows = 0;
        o.ShuffleBufferSize = 8;
        var shuffling = new CountingDataView(train, canShuffle: true);
        Train(ml, shuffling, o);
        Assert.AreEqual(2, shuffling.ShufflingCursors, "one seeded shuffling cursor per epoch (the scan reads in order)");

        o.ShuffleBufferSize = 40;
        var covered = new CountingDataView(train, canShuffle: true);
        Train(ml, covered, o);
        Assert.AreEqual(0, covered.ShufflingCursors, "the pool covers the data: its permutation alone");
    }

    [TestMethod]
    public void TheVocabularyIsFittedFromTheFirstVocabularySampleRowsOnly()
    {
        var (ml, train, _) = Data(40);
        var texts = train.GetColumn<string>("Text").ToArray();
        TextTokenizer Fitted(int? sampleRows)
        {
            var o = Options();
            o.MaxEpochs = 1;
            o.MaxVocabularySize = 20; // fewer pieces than the 12 words' pieces: the counts decide which are kept
            if (sampleRows is int n)
            {
                o.VocabularySampleRows = n;
            }
            return ml.MulticlassClassification.Trainers.Gwt(o).Fit(train).Tokenizer;
        }
        int[][] Ids(TextTokenizer t) => texts.Select(x => t.Encode(x, null, 16).Ids).ToArray();
        void AssertSameIds(TextTokenizer expected, TextTokenizer actual, string what)
        {
            var e = Ids(expected);
            var a = Ids(actual);
            for (int i = 0; i < texts.Length; i++)
            {
                CollectionAssert.AreEqual(e[i], a[i], $"{what}: text {i}");
            }
        }

        var full = Fitted(null);
        AssertSameIds(FittedTiktokenTokenizer.Fit(texts, 20), full, "default sample (10,000) covers the 40 rows: all of them");
        AssertSameIds(full, Fitted(40), "a sample as large as the data changes nothing");
        var sampled = Fitted(6);
        AssertSameIds(FittedTiktokenTokenizer.Fit(texts.Take(6), 20), sampled, "a 6-row sample: the vocabulary of the first 6 rows");
        Assert.IsTrue(Ids(full).Zip(Ids(sampled)).Any(p => !p.First.SequenceEqual(p.Second)), "the sample changes the vocabulary");
    }

    [TestMethod]
    public void DataThatReportsItsRowCountIsNotScannedAndGivesTheScannedWeights()
    {
        var (ml, train, _) = Data(60);
        Assert.AreEqual(60L, train.GetRowCount(), "the test data reports its row count");
        var o = Options();
        o.MaxEpochs = 1;
        o.MaxCachedRows = 0;
        o.ShuffleBufferSize = 16;
        o.VocabularySampleRows = 30;
        var scanned = new CountingDataView(train);
        var viaScan = Train(ml, scanned, o);
        Assert.AreEqual(1 + 1, scanned.Cursors, "no reported count: a scan, then the epoch's cursor");
        Assert.AreEqual(2 * 60, scanned.RowsRead);

        var counted = new CountingDataView(train, reportRowCount: true);
        var viaCount = Train(ml, counted, o);
        Assert.AreEqual(1 + 1, counted.Cursors, "a vocabulary cursor, then the epoch's cursor");
        Assert.AreEqual(30 + 60, counted.RowsRead, "the vocabulary cursor stops after VocabularySampleRows rows: no scan of the rest");
        foreach (var (name, w) in viaScan)
        {
            CollectionAssert.AreEqual(w, viaCount[name], $"{name}: identical weights without the scan");
        }

        var pretrained = Options();
        pretrained.PretrainedModelPath = Modeling.EncoderParityTests.Checkpoint("bert-tiny");
        pretrained.MaxEpochs = 1;
        pretrained.MaxCachedRows = 0;
        var labelsOnly = new CountingDataView(train, reportRowCount: true);
        ml.MulticlassClassification.Trainers.Gwt(pretrained).Fit(labelsOnly);
        Assert.AreEqual(1, labelsOnly.Cursors, "a pretrained model: the epoch's cursor only, zero scan cursors");
    }

    [TestMethod]
    public void ARowWithAMissingLabelInDataTakenByItsReportedCountStopsFitNamingTheColumn()
    {
        var ml = new MLContext(seed: 1);
        var rows = Enumerable.Range(0, 40).Select(i => new Email { Label = i % 2 == 0 ? "cat" : "none", Text = $"text {i} {(i % 2 == 0 ? "cat" : "dog")}" }).ToList();
        var map = ml.Transforms.Conversion.MapValueToKey("Label").Fit(ml.Data.LoadFromEnumerable(rows));
        rows[25].Label = "unseen"; // a value the key mapping does not know: a missing key
        var data = map.Transform(ml.Data.LoadFromEnumerable(rows));
        var o = Options();
        o.MaxEpochs = 1;
        o.MaxCachedRows = 0;
        var ex = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(new CountingDataView(data, reportRowCount: true)));
        StringAssert.Contains(ex.Message, "label column 'Label'");
        StringAssert.Contains(ex.Message, "FilterRowsByMissingValues");

        // Without a reported count the scan counts the labelled rows and the row is skipped, as before.
        var model = ml.MulticlassClassification.Trainers.Gwt(o).Fit(new CountingDataView(data));
        Assert.AreEqual(10, model.TrainingResult!.Steps, "39 labelled rows in batches of 4: 10 steps");
    }

    [TestMethod]
    public void InvalidStreamingOptionsAreRefusedByName()
    {
        var ml = new MLContext(seed: 1);
        foreach (var (name, change) in new (string, Action<GwtTextClassificationTrainer.Options>)[]
        {
            (nameof(GwtTextClassificationTrainer.Options.ShuffleBufferSize), o => o.ShuffleBufferSize = 0),
            (nameof(GwtTextClassificationTrainer.Options.MaxCachedRows), o => o.MaxCachedRows = -1),
            (nameof(GwtTextClassificationTrainer.Options.LengthGroupingWindow), o => o.LengthGroupingWindow = 0),
            (nameof(GwtTextClassificationTrainer.Options.PrefetchBatches), o => o.PrefetchBatches = -1),
            (nameof(GwtTextClassificationTrainer.Options.VocabularySampleRows), o => o.VocabularySampleRows = 0),
        })
        {
            var o = Options();
            change(o);
            var ex = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.MulticlassClassification.Trainers.Gwt(o));
            Assert.AreEqual(name, ex.ParamName);
            StringAssert.Contains(ex.Message, name);
        }
    }
}
