using Microsoft.ML.Gwt.Core.Interop;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Gwt.Tests.Training;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Tests.Trainers;

/// <summary>Options.CancellationToken (public) and mlContext.CancelExecution() (internal in ML.NET 5.0 and 6.0) both stop Fit.</summary>
[TestClass]
public sealed class CancellationTests
{
    private static void CancelContext(MLContext ml) =>
        typeof(MLContext).GetMethod("CancelExecution", BindingFlags.Instance | BindingFlags.NonPublic | BindingFlags.Public)!.Invoke(ml, null);

    /// <summary>Cancels at step 3 through <paramref name="cancel"/>, training on rows streamed from the source so that
    /// each batch's rows are read from it only when the batch is taken (no cache, no shuffle pool, no length-grouping
    /// window, no producer thread reading ahead); returns the steps reported, the source's rows read when the request was made
    /// and in all, and the exception.</summary>
    private static (List<long> Steps, long RowsAtRequest, long RowsRead, OperationCanceledException Error, CancellationToken Token) CancelAtStep3(
        Action<MLContext, CancellationTokenSource> cancel)
    {
        var (ml, train, _, map) = TrainerTests.Data(trainPerClass: 60, testPerClass: 1); // 8 batches per epoch: step 3 is mid-epoch
        // The trainer reads the counting view itself: a view ML.NET transforms on top of it would read ahead on its own threads.
        var counting = new CountingDataView(map.Fit(train).Transform(train));
        using var cts = new CancellationTokenSource();
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 50;
        o.MaxCachedRows = 0;
        o.PrefetchBatches = 0;
        o.ShuffleBufferSize = 1;
        o.GroupByLength = false;
        o.CancellationToken = cts.Token;
        var steps = new List<long>();
        long rowsAtRequest = -1;
        o.Progress = p =>
        {
            steps.Add(p.Step);
            if (p.Step == 3 && p.ValidationLoss is null)
            {
                rowsAtRequest = Interlocked.Read(ref counting.RowsRead);
                cancel(ml, cts);
            }
        };
        var ex = Assert.ThrowsExactly<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(counting));
        Assert.IsGreaterThan(0L, rowsAtRequest, "the request was made during training");
        Console.WriteLine($"source rows read: {rowsAtRequest} when cancelled at step 3, {Interlocked.Read(ref counting.RowsRead)} in all");
        return (steps, rowsAtRequest, Interlocked.Read(ref counting.RowsRead), ex, cts.Token);
    }

    [TestMethod]
    public void TokenStopsTrainingBeforeTheNextStep()
    {
        var (steps, rowsAtRequest, rowsRead, ex, token) = CancelAtStep3((_, cts) => cts.Cancel());
        CollectionAssert.AreEqual(new long[] { 1, 2, 3 }, steps, "no step after the cancellation request");
        Assert.AreEqual(rowsAtRequest, rowsRead, "no row of the next batch read after the request");
        Assert.AreEqual(token, ex.CancellationToken, "the exception carries the caller's token");
    }

    [TestMethod]
    public void ContextCancelExecutionStillStopsTraining()
    {
        var (steps, rowsAtRequest, rowsRead, ex, _) = CancelAtStep3((ml, _) => CancelContext(ml));
        CollectionAssert.AreEqual(new long[] { 1, 2, 3 }, steps, "no step after CancelExecution");
        Assert.AreEqual(rowsAtRequest, rowsRead, "no row of the next batch read after CancelExecution");
        StringAssert.Contains(ex.Message, "CancelExecution");
    }

    [TestMethod]
    public void AnAlreadyCancelledTokenTrainsNothing()
    {
        var (ml, train, _, map) = TrainerTests.Data(trainPerClass: 20, testPerClass: 1);
        var keyed = map.Fit(train).Transform(train);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        int reports = 0;
        o.Progress = _ => reports++;
        o.CancellationToken = new CancellationToken(canceled: true);
        var ex = Assert.ThrowsExactly<OperationCanceledException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(keyed));
        Assert.AreEqual(o.CancellationToken, ex.CancellationToken, "the exception carries the caller's token");
        Assert.AreEqual(0, reports);
    }

    [TestMethod]
    public void MlNetsCancelFlagIsFoundAndReadsTheContext()
    {
        // If ML.NET renames or removes its internal ICancelable.IsCanceled, binding fails (MlNetBindings) instead of
        // CancelExecution silently stopping to work; here the bound flag is read on a real context.
        var cancelFlag = MlNetBindings.Current.IsCanceled;
        var ml = new MLContext(1);
        var host = ((IHostEnvironment)ml).Register("cancellation-test");
        Assert.IsInstanceOfType(host, cancelFlag.DeclaringType!);
        Assert.IsFalse((bool)cancelFlag.GetValue(host)!);
        MlNetInterop.ThrowIfCancelled(host, CancellationToken.None);
        CancelContext(ml);
        Assert.IsTrue((bool)cancelFlag.GetValue(host)!);
        var ex = Assert.ThrowsExactly<OperationCanceledException>(() => MlNetInterop.ThrowIfCancelled(host, CancellationToken.None));
        StringAssert.Contains(ex.Message, "CancelExecution");
    }

    [TestMethod]
    public void TokenCancelsWithoutTheContextFlag()
    {
        var host = ((IHostEnvironment)new MLContext(1)).Register("token-test");
        using var cts = new CancellationTokenSource();
        MlNetInterop.ThrowIfCancelled(host, cts.Token);
        cts.Cancel();
        var ex = Assert.ThrowsExactly<OperationCanceledException>(() => MlNetInterop.ThrowIfCancelled(host, cts.Token));
        Assert.AreEqual(cts.Token, ex.CancellationToken);
    }
}
