using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary><see cref="TokenBatch.Create"/> and <see cref="DeviceTensors"/>: no tensor is left behind for the finalizer.</summary>
[TestClass]
public sealed class TokenBatchTests
{
    private static readonly EncodedText[] Rows =
    {
        new(new[] { 101, 7, 8, 102 }, new[] { 0, 0, 0, 0 }),
        new(new[] { 101, 9, 102, 5, 102 }, new[] { 0, 0, 0, 1, 1 }),
    };

    /// <summary>Tensors alive that this thread made (the finalizer thread's disposals do not count here).</summary>
    private static long LiveOnThisThread => DisposeScopeManager.Statistics.TensorStatistics.ThreadTotalLiveCount;

    [TestMethod]
    public void ABatchOnTheCpuHoldsThePaddedRowsAndDisposingItLeavesNoTensor()
    {
        long before = LiveOnThisThread;
        for (int i = 0; i < 100; i++)
        {
            using var batch = TokenBatch.Create(Rows, padId: 0, torch.CPU);
            if (i == 0)
            {
                CollectionAssert.AreEqual(new long[] { 101, 7, 8, 102, 0, 101, 9, 102, 5, 102 }, batch.InputIds.data<long>().ToArray());
                CollectionAssert.AreEqual(new long[] { 1, 1, 1, 1, 0, 1, 1, 1, 1, 1 }, batch.AttentionMask.data<long>().ToArray());
                CollectionAssert.AreEqual(new long[] { 0, 0, 0, 0, 0, 0, 0, 0, 1, 1 }, batch.TokenTypeIds.data<long>().ToArray());
            }
        }
        Assert.AreEqual(before, LiveOnThisThread, "tensors left alive by 100 batches created and disposed on the CPU");
    }

    [TestMethod]
    public void ABatchForAnotherDeviceLeavesNoCpuCopyBehind()
    {
        // The meta device stands for CUDA here (no GPU on the test machines): to(device) makes a new tensor, as it does
        // for CUDA, and the CPU tensor it was made from must be disposed, not left to the finalizer.
        var meta = new Device(DeviceType.META);
        long before = LiveOnThisThread;
        for (int i = 0; i < 100; i++)
        {
            using var batch = TokenBatch.Create(Rows, padId: 0, meta);
            Assert.AreEqual(DeviceType.META, batch.InputIds.device_type);
            CollectionAssert.AreEqual(new long[] { 2, 5 }, batch.AttentionMask.shape);
        }
        Assert.AreEqual(before, LiveOnThisThread, "tensors left alive by 100 batches created for another device and disposed");

        using var moved = DeviceTensors.FromArray(new long[] { 1, 2, 3 }, meta);
        Assert.AreEqual(before + 1, LiveOnThisThread, "FromArray leaves only the tensor it returns");
    }
}
