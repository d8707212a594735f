using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.Native;

[TestClass]
public sealed class TorchSharpNativeTests
{
    [TestMethod]
    public void TensorOpRuns()
    {
        using var a = tensor(new float[] { 1, 2, 3 });
        using var b = a * 2;
        CollectionAssert.AreEqual(new float[] { 2, 4, 6 }, b.data<float>().ToArray());
    }
}
