using System.Text;
using Microsoft.ML.Gwt.Modeling;

namespace Microsoft.ML.Gwt.Tests.Modeling;

/// <summary>Hand-written pickles against the weights-only interpreter: every opcode that builds arbitrary objects,
/// every global off the list, and allowed globals used otherwise than PyTorch writes them.</summary>
[TestClass]
public sealed class WeightsOnlyUnpicklerTests
{
    private static object? Load(string pickle) =>
        WeightsOnlyUnpickler.Load(Encoding.Latin1.GetBytes(pickle), 0, "test.pkl", null).Value;

    [TestMethod]
    [DataRow("\u0080\u0002cos\nsystem\nX\u0004\u0000\u0000\u0000echo\u0085R.", "os.system")]
    [DataRow("\u0080\u0004\u008c\u0005posix\u008c\u0006system\u0093X\u0004\u0000\u0000\u0000echo\u0085R.", "posix.system")]
    [DataRow("\u0080\u0004\u008c\u0005posix\u0094\u008c\u0006system\u0094h\u0000h\u0001\u0093.", "posix.system")] // through the memo
    [DataRow("\u0080\u0002c__builtin__\ngetattr\n.", "__builtin__.getattr")]
    [DataRow("\u0080\u0002cbuiltins\neval\n.", "builtins.eval")]
    [DataRow("\u0080\u0002ctorch.nn.modules.module\nModule\n.", "torch.nn.modules.module.Module")]
    [DataRow("\u0080\u0002ctorch\nFloatStorage\n)R.", "torch.FloatStorage")] // a storage type is not a callable
    [DataRow("\u0080\u0002(ios\nsystem\n.", "INST")]
    [DataRow("\u0080\u0002(o.", "OBJ")]
    [DataRow("\u0080\u0002))\u0081.", "NEWOBJ")]
    [DataRow("\u0080\u0002\u0082\u0001.", "EXT1")]
    [DataRow("\u0080\u0002P1\n.", "PERSID")]
    [DataRow("\u0080\u0002]}b.", "BUILD")] // BUILD is allowed only on an OrderedDict
    [DataRow("\u0080\u0002K\u0001)R.", "REDUCE")] // REDUCE of a value that is not a global
    public void RefusesNamingWhat(string pickle, string refused)
    {
        var ex = Assert.ThrowsExactly<UnsafeCheckpointException>(() => Load(pickle));
        Assert.AreEqual(refused, ex.Refused);
        Assert.AreEqual("test.pkl", ex.FilePath);
        StringAssert.Contains(ex.Message, "test.pkl");
        StringAssert.Contains(ex.Message, refused);
    }

    [TestMethod]
    [DataRow("\u0080\u0002ccollections\nOrderedDict\nK\u0001\u0085R.")] // OrderedDict with arguments
    [DataRow("\u0080\u0002ctorch._utils\n_rebuild_tensor_v2\n)R.")] // a tensor without a storage
    [DataRow("\u0080\u0002K\u0001K\u0002.")] // two values at STOP
    [DataRow("\u0080\u0002]K\u0001s.")] // SETITEM on a list
    [DataRow("\u0080\u0002h\u0005.")] // memo read before write
    [DataRow("\u0080\u0002X\u00ff\u00ff\u00ff\u007fab.")] // a string longer than the pickle
    [DataRow("\u0080\u0002}")] // no STOP
    [DataRow("\u0080\u0002\u00ff.")] // unknown opcode
    public void MalformedIsAFormatError(string pickle)
    {
        var ex = Assert.Throws<FormatException>(() => Load(pickle), pickle);
        Assert.IsNotInstanceOfType<UnsafeCheckpointException>(ex);
        StringAssert.Contains(ex.Message, "test.pkl");
    }

    [TestMethod]
    public void PlainContainersAndAnOrderedDictWithMetadataLoad()
    {
        // OrderedDict() with items and a BUILD of {'_metadata': {...}}, as state_dict() pickles; a list, a tuple, a float, None, bools.
        var value = Load("\u0080\u0002ccollections\nOrderedDict\nq\u0000)Rq\u0001(X\u0001\u0000\u0000\u0000a]q\u0002(K\u0001J\u00ff\u00ff\u00ff\u00ff\u008a\u0001\u007feX\u0001\u0000\u0000\u0000b" +
            "(G?\u00f0\u0000\u0000\u0000\u0000\u0000\u0000N\u0088\u0089tu}X\u0009\u0000\u0000\u0000_metadata}sb.");
        var dict = (PickleDict)value!;
        Assert.HasCount(2, dict.Items);
        Assert.AreEqual("a", dict.Items[0].Key);
        CollectionAssert.AreEqual(new object?[] { 1L, -1L, 127L }, (List<object?>)dict.Items[0].Value!);
        CollectionAssert.AreEqual(new object?[] { 1.0, null, true, false }, (object?[])dict.Items[1].Value!);
    }
}
