using Microsoft.ML.Gwt.Modeling;

namespace Microsoft.ML.Gwt.Tests.Modeling;

[TestClass]
public sealed class DebertaV2EncoderTests
{
    [TestMethod]
    public void RelativePositionBucketsMatchHandComputedValues()
    {
        // mid = buckets/2. |i-j| <= mid: unchanged. Beyond: sign · (ceil(ln(|d|/mid) / ln((max-1)/mid) · (mid-1)) + mid).
        // buckets 256, max 512: d=200: ln(1.5625)/ln(3.9922)·127 = 0.4463/1.3843·127 = 40.94 -> 41 + 128 = 169;
        // d=300: ln(2.3438)/1.3843·127 = 78.14 -> 207; d=129: 0.71 -> 129.
        using var big = DebertaV2Encoder.RelativePositions(301, 256, 512);
        Assert.AreEqual(169L, big[200, 0].item<long>());
        Assert.AreEqual(-169L, big[0, 200].item<long>());
        Assert.AreEqual(207L, big[300, 0].item<long>());
        Assert.AreEqual(129L, big[129, 0].item<long>());
        Assert.AreEqual(100L, big[150, 50].item<long>());
        Assert.AreEqual(0L, big[7, 7].item<long>());
        // buckets 8, max 40 (mid 4): d=5: ln(1.25)/ln(9.75)·3 = 0.294 -> 1 + 4 = 5; d=20: ln(5)/ln(9.75)·3 = 2.12 -> 7.
        using var small = DebertaV2Encoder.RelativePositions(21, 8, 40);
        Assert.AreEqual(3L, small[3, 0].item<long>());
        Assert.AreEqual(4L, small[4, 0].item<long>());
        Assert.AreEqual(5L, small[5, 0].item<long>());
        Assert.AreEqual(7L, small[20, 0].item<long>());
        Assert.AreEqual(-7L, small[0, 20].item<long>());
        // No buckets: plain i - j.
        using var plain = DebertaV2Encoder.RelativePositions(5, -1, 512);
        Assert.AreEqual(-4L, plain[0, 4].item<long>());
    }
}
