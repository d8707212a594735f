using Microsoft.ML.Gwt.Training;

namespace Microsoft.ML.Gwt.Tests.Training;

[TestClass]
public sealed class LinearWarmupScheduleTests
{
    // Expected values worked by hand from Hugging Face's get_linear_schedule_with_warmup:
    //   k < W: k / max(1, W);  else max(0, (T - k) / max(1, T - W)),  W = ceil(T * fraction), k = 0 .. T-1.
    [TestMethod]
    public void MatchesHuggingFaceLinearScheduleWithStepsCountedFromZero()
    {
        var s = new LinearWarmupSchedule(2.0, 10, 0.1); // W = 1
        Assert.AreEqual(1, s.WarmupSteps);
        var expected = new[] { 0.0, 2.0, 2.0 * 8 / 9, 2.0 * 7 / 9, 2.0 * 6 / 9, 2.0 * 5 / 9, 2.0 * 4 / 9, 2.0 * 3 / 9, 2.0 * 2 / 9, 2.0 * 1 / 9 };
        for (int k = 0; k < 10; k++)
        {
            Assert.AreEqual(expected[k], s.At(k), 1e-15, $"step {k}");
        }
        Assert.IsGreaterThan(0.0, s.At(9), "the last step still learns");

        var w = new LinearWarmupSchedule(1.0, 7, 0.3); // W = ceil(2.1) = 3
        Assert.AreEqual(3, w.WarmupSteps);
        CollectionAssert.AreEqual(new[] { 0.0, 1.0 / 3, 2.0 / 3, 1.0, 0.75, 0.5, 0.25 }, Enumerable.Range(0, 7).Select(k => w.At(k)).ToArray());

        var none = new LinearWarmupSchedule(1.0, 4, 0.0);
        CollectionAssert.AreEqual(new[] { 1.0, 0.75, 0.5, 0.25 }, Enumerable.Range(0, 4).Select(k => none.At(k)).ToArray());
    }

    [TestMethod]
    public void AOneStepRunTrainsAtThePeakRate()
    {
        var s = new LinearWarmupSchedule(5e-4, 1, 0.1); // ceil(0.1) = 1 warm-up step would leave no step above 0: capped at T - 1
        Assert.AreEqual(0, s.WarmupSteps);
        Assert.AreEqual(5e-4, s.At(0));
        var two = new LinearWarmupSchedule(1.0, 2, 0.5);
        CollectionAssert.AreEqual(new[] { 0.0, 1.0 }, new[] { two.At(0), two.At(1) });
    }
}
