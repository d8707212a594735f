using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt.Tests.Trainers;

[TestClass]
public sealed class GwtModelSizePresetsTests
{
    [TestMethod]
    [DataRow(GwtModelSize.Tiny, 2, 128, 2, 512)]
    [DataRow(GwtModelSize.Small, 4, 256, 4, 1024)]
    [DataRow(GwtModelSize.Base, 12, 768, 12, 3072)]
    public void EachSizeIsTheTransformerConfigPresetOfItsName(GwtModelSize size, int layers, int hidden, int heads, int feedForward)
    {
        var config = size.Config(1000);
        Assert.AreEqual(1000, config.VocabSize);
        Assert.AreEqual((layers, hidden, heads, feedForward),
            (config.NumHiddenLayers, config.HiddenSize, config.NumAttentionHeads, config.IntermediateSize));
    }

    [TestMethod]
    public void AValueOutsideTheEnumerationIsTiny()
    {
        Assert.AreEqual(128, ((GwtModelSize)42).Config(1000).HiddenSize);
    }
}
