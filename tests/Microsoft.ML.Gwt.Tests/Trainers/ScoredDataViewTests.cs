using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Tests.Training;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Threading;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary><see cref="ScoredDataView"/>: tokenizing ahead on a producer thread, one cursor over the input, early
/// disposal and producer failures, with a scorer whose tokens and scores are known (and with the real model).</summary>
[TestClass]
public sealed class ScoredDataViewTests
{
    /// <summary>A scorer whose token ids are a text's length and whose class probabilities are (length, -length);
    /// it records the threads that tokenized and fails on the text "bad".</summary>
    private sealed class RecordingScorer : ITextClassifierScorer
    {
        public RecordingScorer(int batchSize) => ScoringBatchSize = batchSize;

        public int ScoringBatchSize { get; }

        public int EncodedBatches;

        public readonly List<Thread> EncodingThreads = new();

        public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
        {
            var b = new DataViewSchema.Builder();
            b.AddColumns(inputSchema);
            ScoreColumns.ForModel("Score", "PredictedLabel", 2, null).AddTo(b);
            return b.ToSchema();
        }

        public IEnumerable<DataViewSchema.Column> TextColumnsOf(DataViewSchema schema) => new[] { schema["Text"] };

        public (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) TextGetters(DataViewRow row) =>
            (row.GetGetter<ReadOnlyMemory<char>>(row.Schema["Text"]), null);

        public EncodedText[] Encode(IReadOnlyList<(string? First, string? Second)> rows)
        {
            lock (EncodingThreads)
            {
                EncodingThreads.Add(Thread.CurrentThread);
            }
            var result = rows.Select(r => r.First == "bad"
                ? throw new InvalidDataException("The text 'bad' cannot be tokenized.")
                : new EncodedText(new[] { r.First!.Length }, new[] { 0 })).ToArray();
            Interlocked.Increment(ref EncodedBatches);
            return result;
        }

        public float[][] ScoreEncoded(IReadOnlyList<EncodedText> rows) => rows.Select(e => new float[] { e.Ids[0], -e.Ids[0] }).ToArray();
    }

    private sealed class Row
    {
        public string Text { get; set; } = "";
        public int Index { get; set; }
    }

    private static (CountingDataView Input, List<Row> Rows) Input(int count, int? badRow = null)
    {
        var rows = Enumerable.Range(0, count).Select(i => new Row { Text = i == badRow ? "bad" : new string('x', 1 + (i * 7) % 23), Index = i }).ToList();
        return (new CountingDataView(new MLContext(1).Data.LoadFromEnumerable(rows)), rows);
    }

    private static float Score(DataViewRowCursor cursor, ValueGetter<VBuffer<float>> score)
    {
        VBuffer<float> v = default;
        score(ref v);
        return v.GetValues()[0];
    }

    [TestMethod]
    public void ScoringReadsOneCursorAndTokenizesBatchesAheadOnAProducerThread()
    {
        var (input, rows) = Input(100);
        var scorer = new RecordingScorer(batchSize: 8);
        var scored = new ScoredDataView(scorer, input);
        using var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name is "Score" or "Index"));
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        var index = cursor.GetGetter<int>(cursor.Schema["Index"]);
        Assert.IsTrue(cursor.MoveNext());
        Assert.AreEqual(rows[0].Text.Length, Score(cursor, score));
        // While the consumer stays on row 0, the producer fills its queue: the served batch, the queued ones and the
        // one it holds while waiting for room.
        int expected = 1 + ScoredDataView.PrefetchBatches + 1;
        Assert.IsTrue(SpinWait.SpinUntil(() => Volatile.Read(ref scorer.EncodedBatches) >= expected, TimeSpan.FromSeconds(20)),
            $"{expected} batches tokenized ahead of the forward pass on row 0; saw {scorer.EncodedBatches}");
        Thread.Sleep(100);
        Assert.AreEqual(expected, Volatile.Read(ref scorer.EncodedBatches), "the queue is bounded");
        lock (scorer.EncodingThreads)
        {
            Assert.IsTrue(scorer.EncodingThreads.All(t => t != Thread.CurrentThread), "tokenized on the producer thread, not the consumer's");
        }
        int i = 0;
        int idx = 0;
        do
        {
            index(ref idx);
            Assert.AreEqual(i, idx, "input order");
            Assert.AreEqual(i, cursor.Position);
            Assert.AreEqual(rows[i].Text.Length, Score(cursor, score), $"row {i}: its own text's score");
            i++;
        }
        while (cursor.MoveNext());
        Assert.AreEqual(100, i);
        Assert.IsFalse(cursor.MoveNext());
        Assert.AreEqual(1, input.Cursors, "one cursor over the input for the whole pass");
        Assert.AreEqual(100, input.RowsRead, "each row read once");
    }

    [TestMethod]
    public void DisposingTheCursorAfterAFewRowsStopsTheProducerAndClosesTheInput()
    {
        var (input, _) = Input(10_000);
        var scorer = new RecordingScorer(batchSize: 4);
        var scored = new ScoredDataView(scorer, input);
        var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name == "Score"));
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        for (int i = 0; i < 5; i++)
        {
            Assert.IsTrue(cursor.MoveNext());
            Score(cursor, score);
        }
        SpinWait.SpinUntil(() => Volatile.Read(ref scorer.EncodedBatches) >= 2 + ScoredDataView.PrefetchBatches, TimeSpan.FromSeconds(20));
        cursor.Dispose();
        lock (scorer.EncodingThreads)
        {
            Assert.IsTrue(scorer.EncodingThreads.All(t => !t.IsAlive), "the producer thread has ended when Dispose returns");
        }
        Assert.AreEqual(1, input.DisposedCursors, "the input cursor is closed");
        long read = Interlocked.Read(ref input.RowsRead);
        Assert.IsLessThanOrEqualTo(4L * (3 + ScoredDataView.PrefetchBatches), read, "the producer read a bounded number of batches ahead");
        Thread.Sleep(200);
        Assert.AreEqual(read, Interlocked.Read(ref input.RowsRead), "nothing is read after Dispose");
    }

    /// <summary>Opens a scoring cursor, reads one row and drops the cursor without disposing it (in a method of its own,
    /// so that no local of the test keeps it reachable).</summary>
    [System.Runtime.CompilerServices.MethodImpl(System.Runtime.CompilerServices.MethodImplOptions.NoInlining)]
    private static void ReadOneRowAndDrop(ScoredDataView scored)
    {
        var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name == "Score"));
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        Assert.IsTrue(cursor.MoveNext());
        Score(cursor, score);
    }

    [TestMethod]
    public void ACursorDroppedWithoutDisposeDoesNotPinItsProducerThreadNorTheInputCursor()
    {
        var (input, _) = Input(10_000);
        var scorer = new RecordingScorer(batchSize: 4);
        ReadOneRowAndDrop(new ScoredDataView(scorer, input));
        // The producer fills its bounded queue, then waits for room that the dropped consumer will never make.
        Assert.IsTrue(SpinWait.SpinUntil(() => Volatile.Read(ref scorer.EncodedBatches) >= 2 + ScoredDataView.PrefetchBatches, TimeSpan.FromSeconds(20)),
            "the producer filled its queue");
        Thread producer;
        lock (scorer.EncodingThreads)
        {
            producer = scorer.EncodingThreads.Distinct().Single();
        }
        Assert.AreEqual(0, input.DisposedCursors, "the input cursor is open while the producer runs");

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();
        // A hang guard, not a time limit: the producer checks for its consumer every Prefetcher.AbandonCheckMilliseconds.
        Assert.IsTrue(producer.Join(TimeSpan.FromMinutes(1)), "the producer thread ended once its cursor was collected");
        Assert.AreEqual(1, input.DisposedCursors, "the producer closed the input cursor");
        Assert.IsLessThan(10_000L, Interlocked.Read(ref input.RowsRead), "the producer stopped reading");
    }

    [TestMethod]
    public void AProducerExceptionSurfacesOnTheConsumerWithItsTypeAndMessage()
    {
        var (input, _) = Input(40, badRow: 13);
        var scorer = new RecordingScorer(batchSize: 4);
        var scored = new ScoredDataView(scorer, input);
        using var cursor = scored.GetRowCursor(scored.Schema.Where(c => c.Name == "Score"));
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        int served = 0;
        var ex = Assert.ThrowsExactly<InvalidDataException>(() =>
        {
            while (cursor.MoveNext())
            {
                Score(cursor, score);
                served++;
            }
        });
        Assert.AreEqual("The text 'bad' cannot be tokenized.", ex.Message);
        Assert.AreEqual(12, served, "the rows before the failing batch are served, in order");
        lock (scorer.EncodingThreads)
        {
            Assert.IsTrue(scorer.EncodingThreads.All(t => !t.IsAlive), "the producer has ended");
        }
    }

    [TestMethod]
    public void TransformScoresAreThoseOfTheSameBatchesScoredDirectlyToTheBit()
    {
        var ml = new MLContext(1);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        o.MaxSequenceLength = 32;
        o.ScoringBatchSize = 7; // 40 rows: 5 full batches and one of 5
        var train = ml.Data.LoadFromEnumerable(SpamData.Take("train", 12, "ham", "spam"));
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(train);
        var gwt = model.LastTransformer;
        var test = ml.Data.LoadFromEnumerable(SpamData.Take("test", 20, "ham", "spam"));
        var counting = new CountingDataView(test);
        var viaTransform = model.Transform(counting).GetColumn<float[]>("Score").ToArray();
        Assert.AreEqual(1, counting.Cursors, "one cursor for the whole scoring pass");
        var texts = test.GetColumn<string>("Text").ToArray();
        Assert.HasCount(texts.Length, viaTransform);
        int size = gwt.Options.ScoringBatchSize;
        Assert.IsLessThan(texts.Length, size, "several batches");
        for (int start = 0; start < texts.Length; start += size)
        {
            var direct = gwt.ScoreBatch(texts.Skip(start).Take(size).Select(t => ((string?)t, (string?)null)).ToList());
            for (int r = 0; r < direct.Length; r++)
            {
                CollectionAssert.AreEqual(direct[r].Select(BitConverter.SingleToInt32Bits).ToArray(),
                    viaTransform[start + r].Select(BitConverter.SingleToInt32Bits).ToArray(), $"row {start + r}: the same bits");
            }
        }
    }
}
