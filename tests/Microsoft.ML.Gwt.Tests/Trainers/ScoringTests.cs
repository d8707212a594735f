using System.Collections;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Rows for LoadFromEnumerable that count how often they are read; optionally later reads end early.</summary>
internal sealed class CountingRows : IEnumerable<Email>
{
    private readonly List<Email> _rows;
    private readonly int? _laterReadsEndAfter;

    public CountingRows(List<Email> rows, int? laterReadsEndAfter = null)
    {
        _rows = rows;
        _laterReadsEndAfter = laterReadsEndAfter;
    }

    public int Reads { get; private set; }

    public int RowsYielded { get; private set; }

    public IEnumerator<Email> GetEnumerator()
    {
        int limit = Reads++ > 0 && _laterReadsEndAfter is int n ? n : _rows.Count;
        for (int i = 0; i < limit; i++)
        {
            RowsYielded++;
            yield return _rows[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

[TestClass]
public sealed class ScoringTests
{
    [TestMethod]
    public void TransformReadsItsInputOnce()
    {
        var (ml, model, _) = TrainerBehaviourTests.Trained();
        var source = new CountingRows(SpamData.Take("test", 20, "ham", "spam"));
        var scored = model.Transform(ml.Data.LoadFromEnumerable(source));
        Assert.AreEqual(0, source.Reads, "Transform itself reads nothing");
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        Assert.HasCount(40, scores);
        Assert.AreEqual(1, source.Reads, "one pass over the input");
        Assert.AreEqual(40, source.RowsYielded);
    }

    [TestMethod]
    public void ASourceThatGivesFewerRowsOnASecondReadIsScoredInOnePass()
    {
        // A source that is not the same twice (a live feed, a file being rewritten): the old look-ahead cursor read it a
        // second time, ran out of rows before the main cursor and looped forever.
        var (ml, model, _) = TrainerBehaviourTests.Trained();
        var source = new CountingRows(SpamData.Take("test", 20, "ham", "spam"), laterReadsEndAfter: 20);
        var scored = model.Transform(ml.Data.LoadFromEnumerable(source));
        var read = Task.Run(() => scored.GetColumn<float[]>("Score").ToArray());
        Assert.IsTrue(read.Wait(TimeSpan.FromSeconds(120)), "scoring finished");
        Assert.HasCount(40, read.Result);
        Assert.AreEqual(1, source.Reads);
    }

    [TestMethod]
    public void PassThroughColumnsStayAlignedWithTheirScoresAcrossBatches()
    {
        var ml = new MLContext(1);
        var rows = SpamData.Take("train", 12, "ham", "spam");
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        o.MaxSequenceLength = 32;
        o.ScoringBatchSize = 5; // 24 rows: batches of 5, 5, 5, 5, 4
        var data = ml.Data.LoadFromEnumerable(rows);
        var model = ml.Transforms.Conversion.MapValueToKey("Label").Append(ml.MulticlassClassification.Trainers.Gwt(o)).Fit(data);
        var gwt = model.LastTransformer;
        using var cursor = model.Transform(data).GetRowCursor(model.Transform(data).Schema.Where(c => c.Name is "Text" or "Score" or "Label"));
        var text = cursor.GetGetter<ReadOnlyMemory<char>>(cursor.Schema["Text"]);
        var label = cursor.GetGetter<uint>(cursor.Schema["Label"]);
        var score = cursor.GetGetter<VBuffer<float>>(cursor.Schema["Score"]);
        var id = cursor.GetIdGetter();
        ReadOnlyMemory<char> t = default;
        uint l = 0;
        VBuffer<float> s = default;
        DataViewRowId rowId = default;
        int i = 0;
        while (cursor.MoveNext())
        {
            text(ref t);
            label(ref l);
            score(ref s);
            id(ref rowId);
            Assert.AreEqual(i, cursor.Position);
            Assert.AreEqual(rows[i].Text, t.ToString(), $"row {i} text");
            Assert.AreEqual(rows[i].Label == "ham" ? 1u : 2u, l, $"row {i} label");
            var alone = gwt.Predict(new[] { rows[i].Text })[0];
            for (int k = 0; k < alone.Length; k++)
            {
                Assert.AreEqual(alone[k], s.GetValues()[k], 1e-5f, $"row {i} class {k}: the score of this row's own text");
            }
            i++;
        }
        Assert.AreEqual(rows.Count, i);
    }

    [TestMethod]
    public void PredictOnTheTransformerMatchesTransform()
    {
        var (ml, model, test) = TrainerBehaviourTests.Trained();
        var gwt = (GwtTextClassificationTransformer)((IEnumerable<ITransformer>)model).Last();
        var emails = SpamData.Take("test", 20, "ham", "spam");
        var viaTransform = model.Transform(test).GetColumn<float[]>("Score").ToArray();
        var viaPredict = gwt.Predict(emails.Select(e => (string?)e.Text).ToList());
        Assert.HasCount(emails.Count, viaPredict);
        for (int i = 0; i < emails.Count; i++)
        {
            CollectionAssert.AreEqual(viaTransform[i], viaPredict[i], $"row {i}: same batches, same scores");
        }
        var two = gwt.Predict(new[] { emails[3].Text, emails[30].Text });
        for (int k = 0; k < 2; k++)
        {
            Assert.AreEqual(viaTransform[3][k], two[0][k], 1e-5f);
            Assert.AreEqual(viaTransform[30][k], two[1][k], 1e-5f);
        }
        Assert.IsEmpty(gwt.Predict(Array.Empty<string>()));
        var mismatch = Assert.ThrowsExactly<ArgumentException>(() => gwt.Predict(new[] { "a", "b" }, new[] { "c" }));
        StringAssert.Contains(mismatch.Message, "second");
    }
}
