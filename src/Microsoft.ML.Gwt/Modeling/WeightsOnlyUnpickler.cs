using System.Buffers.Binary;
using System.Numerics;
using System.Text;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// A PyTorch checkpoint (<c>pytorch_model.bin</c>) refused because its pickle holds something other than tensors and
/// plain containers: a global outside <see cref="PyTorchCheckpoint.AllowedGlobals"/> (for example <c>posix.system</c>,
/// <c>__builtin__.eval</c> or a <c>torch.nn.Module</c> class) or an opcode that builds arbitrary objects. Nothing in the
/// file was run or constructed: the check happens while the pickle is read, before any tensor exists.
/// </summary>
public sealed class UnsafeCheckpointException : FormatException
{
    /// <summary>Creates the exception.</summary>
    /// <param name="path">The refused file.</param>
    /// <param name="refused">What was refused: a global as <c>module.name</c>, or an opcode name.</param>
    /// <param name="message">The message.</param>
    public UnsafeCheckpointException(string path, string refused, string message)
        : base(message)
    {
        FilePath = path;
        Refused = refused;
    }

    /// <summary>The refused file.</summary>
    public string FilePath { get; }

    /// <summary>What was refused: a global as <c>module.name</c> (<c>posix.system</c>), or a pickle opcode (<c>INST</c>).</summary>
    public string Refused { get; }
}

/// <summary>What PyTorch checkpoints may hold when read by <see cref="CheckpointLoader"/>: the rule of
/// <c>torch.load(weights_only=True)</c>, narrowed to what a state dict needs.</summary>
public static class PyTorchCheckpoint
{
    // Declared before AllowedGlobals, which reads it.
    internal static readonly IReadOnlyDictionary<string, ScalarType> StorageTypes = new Dictionary<string, ScalarType>(StringComparer.Ordinal)
    {
        ["FloatStorage"] = ScalarType.Float32,
        ["HalfStorage"] = ScalarType.Float16,
        ["BFloat16Storage"] = ScalarType.BFloat16,
        ["DoubleStorage"] = ScalarType.Float64,
        ["LongStorage"] = ScalarType.Int64,
        ["IntStorage"] = ScalarType.Int32,
        ["ShortStorage"] = ScalarType.Int16,
        ["CharStorage"] = ScalarType.Int8,
        ["ByteStorage"] = ScalarType.Byte,
        ["BoolStorage"] = ScalarType.Bool,
    };

    /// <summary>
    /// The only Python globals a <c>.bin</c> checkpoint's pickle may name, and what each may be used for:
    /// <c>collections.OrderedDict</c> (called with no arguments: a state dict and its metadata),
    /// <c>torch._utils._rebuild_tensor_v2</c> and <c>torch._utils._rebuild_tensor</c> (a tensor: storage, offset,
    /// shape, strides), <c>torch._utils._rebuild_parameter</c> (a tensor saved as a parameter), and the storage types
    /// <c>torch.FloatStorage</c>, <c>HalfStorage</c>, <c>BFloat16Storage</c>, <c>DoubleStorage</c>, <c>LongStorage</c>,
    /// <c>IntStorage</c>, <c>ShortStorage</c>, <c>CharStorage</c>, <c>ByteStorage</c>, <c>BoolStorage</c> (only inside
    /// a storage reference). Everything else a pickle builds is a plain value: string, integer, float, bool, None,
    /// tuple, list, dict.
    /// </summary>
    public static IReadOnlyList<string> AllowedGlobals { get; } = new[]
    {
        "collections.OrderedDict",
        "torch._utils._rebuild_tensor_v2",
        "torch._utils._rebuild_tensor",
        "torch._utils._rebuild_parameter",
    }.Concat(StorageTypes.Keys.Select(k => "torch." + k)).ToArray();

    internal static int ElementSize(ScalarType type) => type switch
    {
        ScalarType.Float64 or ScalarType.Int64 => 8,
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        _ => 1,
    };
}

/// <summary>A Python global named by a pickle (only allowed ones are ever created).</summary>
internal sealed record PickleGlobal(string Module, string Name)
{
    public string FullName => Module + "." + Name;
}

/// <summary>A dict or OrderedDict, in insertion order.</summary>
internal sealed class PickleDict
{
    public List<KeyValuePair<object?, object?>> Items { get; } = new();
}

/// <summary>A storage reference (a persistent id): where the raw data is and what it holds.</summary>
/// <param name="Key">The storage's key (its record name in the archive).</param>
/// <param name="DType">The element type.</param>
/// <param name="Elements">The number of elements the storage holds.</param>
/// <param name="View">Legacy format only: the storage is a view <c>(root key, offset, size)</c> of another.</param>
internal sealed record StorageRef(string Key, ScalarType DType, long Elements, (string Root, long Offset, long Size)? View);

/// <summary>A tensor: a strided view of a storage.</summary>
internal sealed record TensorRef(StorageRef Storage, long Offset, long[] Shape, long[] Stride);

/// <summary>
/// The pickle interpreter behind <c>.bin</c> checkpoints, held to what <c>torch.load(weights_only=True)</c> allows and
/// narrower: a closed set of opcodes (no <c>INST</c>, <c>OBJ</c>, <c>NEWOBJ</c>, extension codes or text persistent
/// ids), <c>GLOBAL</c>/<c>STACK_GLOBAL</c> only for <see cref="PyTorchCheckpoint.AllowedGlobals"/> (checked when the
/// global is read, before any call could use it), <c>REDUCE</c> only on those globals with the arguments PyTorch
/// writes. It builds plain values and <see cref="TensorRef"/> descriptions only: no tensor is allocated and no .NET
/// type is looked up by name.
/// </summary>
internal sealed class WeightsOnlyUnpickler
{
    private readonly byte[] _data;
    private readonly string _source;
    private readonly Func<object?[], StorageRef> _persistentLoad;
    private int _pos;

    private readonly List<object?> _stack = new();
    private readonly Stack<int> _marks = new();
    private readonly Dictionary<long, object?> _memo = new();

    private WeightsOnlyUnpickler(byte[] data, int start, string source, Func<object?[], StorageRef> persistentLoad)
    {
        _data = data;
        _pos = start;
        _source = source;
        _persistentLoad = persistentLoad;
    }

    /// <summary>Reads one pickle starting at <paramref name="start"/>; returns its value and the position after
    /// its <c>STOP</c>.</summary>
    /// <exception cref="UnsafeCheckpointException">A refused global or opcode.</exception>
    /// <exception cref="FormatException">The pickle is malformed or truncated.</exception>
    public static (object? Value, int End) Load(byte[] data, int start, string source, Func<object?[], StorageRef>? persistentLoad)
    {
        var u = new WeightsOnlyUnpickler(data, start, source, persistentLoad ?? (pid => throw new FormatException(
            $"'{source}': a persistent id where none may be.")));
        var value = u.Run();
        return (value, u._pos);
    }

    private static readonly Dictionary<byte, string> RefusedOpcodes = new()
    {
        [(byte)'i'] = "INST", [(byte)'o'] = "OBJ", [0x81] = "NEWOBJ", [0x92] = "NEWOBJ_EX", [0x82] = "EXT1",
        [0x83] = "EXT2", [0x84] = "EXT4", [(byte)'P'] = "PERSID", [(byte)'b'] = "BUILD",
    };

    private object? Run()
    {
        while (true)
        {
            int at = _pos;
            byte op = ReadByte();
            switch (op)
            {
                case 0x80: // PROTO
                    int proto = ReadByte();
                    if (proto > 5)
                    {
                        throw Bad($"pickle protocol {proto} (at byte {at})");
                    }
                    break;
                case 0x95: // FRAME: a length hint only
                    ReadBytes(8);
                    break;
                case (byte)'.': // STOP
                    if (_stack.Count != 1 || _marks.Count != 0)
                    {
                        throw Bad($"STOP at byte {at} with {_stack.Count} values on the stack");
                    }
                    return _stack[0];
                case (byte)'(': // MARK
                    _marks.Push(_stack.Count);
                    break;
                default:
                    if (!(PushesValue(op) || BuildsContainer(op, at) || UsesMemo(op, at) || CallsGlobal(op, at)))
                    {
                        throw RefusedOrUnknown(op, at);
                    }
                    break;
            }
        }
    }

    private Exception RefusedOrUnknown(byte op, int at) => RefusedOpcodes.TryGetValue(op, out var opName)
        ? Refuse(opName, $"opcode {opName} (0x{op:x2}) at byte {at}, which builds objects a weights-only checkpoint never holds")
        : Bad($"unknown or unsupported pickle opcode 0x{op:x2} at byte {at}");

    /// <summary>Opcodes that push a constant, a string or an empty container.</summary>
    private bool PushesValue(byte op)
    {
        switch (op)
        {
            case (byte)'N':
                Push(null);
                return true;
            case 0x88:
                Push(true);
                return true;
            case 0x89:
                Push(false);
                return true;
            case (byte)'J': // BININT
                Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)));
                return true;
            case (byte)'K': // BININT1
                Push((long)ReadByte());
                return true;
            case (byte)'M': // BININT2
                Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2)));
                return true;
            case 0x8a: // LONG1
                {
                    int n = ReadByte();
                    var bytes = ReadBytes(n);
                    var big = new BigInteger(bytes, isUnsigned: false, isBigEndian: false);
                    Push(big >= long.MinValue && big <= long.MaxValue ? (object)(long)big : big);
                    return true;
                }
            case (byte)'G': // BINFLOAT
                Push(BinaryPrimitives.ReadDoubleBigEndian(ReadBytes(8)));
                return true;
            case (byte)'X': // BINUNICODE
                Push(ReadString(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4))));
                return true;
            case 0x8c: // SHORT_BINUNICODE
                Push(ReadString(ReadByte()));
                return true;
            case 0x8d: // BINUNICODE8
                Push(ReadString(BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8))));
                return true;
            case (byte)'}': // EMPTY_DICT
                Push(new PickleDict());
                return true;
            case (byte)']': // EMPTY_LIST
                Push(new List<object?>());
                return true;
            case (byte)')': // EMPTY_TUPLE
                Push(Array.Empty<object?>());
                return true;
            default:
                return false;
        }
    }

    /// <summary>Opcodes that fill tuples, lists and dicts from the stack.</summary>
    private bool BuildsContainer(byte op, int at)
    {
        switch (op)
        {
            case (byte)'t': // TUPLE
                Push(PopMark().ToArray());
                return true;
            case 0x85:
            case 0x86:
            case 0x87: // TUPLE1..3
                {
                    int n = op - 0x84;
                    Need(n, at);
                    var items = _stack.GetRange(_stack.Count - n, n).ToArray();
                    _stack.RemoveRange(_stack.Count - n, n);
                    Push(items);
                    return true;
                }
            case (byte)'a': // APPEND
                {
                    Need(2, at);
                    var value = Pop();
                    ListAt(_stack.Count - 1, at).Add(value);
                    return true;
                }
            case (byte)'e': // APPENDS
                {
                    var items = PopMark();
                    Need(1, at);
                    ListAt(_stack.Count - 1, at).AddRange(items);
                    return true;
                }
            case (byte)'s': // SETITEM
                {
                    Need(3, at);
                    var value = Pop();
                    var key = Pop();
                    DictAt(_stack.Count - 1, at).Items.Add(new(key, value));
                    return true;
                }
            case (byte)'u': // SETITEMS
                {
                    var items = PopMark();
                    if (items.Count % 2 != 0)
                    {
                        throw Bad($"SETITEMS with an odd number of values at byte {at}");
                    }
                    Need(1, at);
                    var dict = DictAt(_stack.Count - 1, at);
                    for (int i = 0; i < items.Count; i += 2)
                    {
                        dict.Items.Add(new(items[i], items[i + 1]));
                    }
                    return true;
                }
            default:
                return false;
        }
    }

    /// <summary>Opcodes that write or read the memo.</summary>
    private bool UsesMemo(byte op, int at)
    {
        switch (op)
        {
            case (byte)'q': // BINPUT
                Memo(ReadByte(), at);
                return true;
            case (byte)'r': // LONG_BINPUT
                Memo(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), at);
                return true;
            case 0x94: // MEMOIZE
                Memo(_memo.Count, at);
                return true;
            case (byte)'h': // BINGET
                Get(ReadByte(), at);
                return true;
            case (byte)'j': // LONG_BINGET
                Get(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), at);
                return true;
            default:
                return false;
        }
    }

    /// <summary>Opcodes that name a global, load a storage or call an allowed global: every check of what a checkpoint may build is here.</summary>
    private bool CallsGlobal(byte op, int at)
    {
        switch (op)
        {
            case (byte)'c': // GLOBAL
                {
                    var module = ReadLine();
                    var name = ReadLine();
                    Push(Global(module, name, at));
                    return true;
                }
            case 0x93: // STACK_GLOBAL
                {
                    Need(2, at);
                    var name = Pop();
                    var module = Pop();
                    if (module is not string m || name is not string n)
                    {
                        throw Bad($"STACK_GLOBAL at byte {at} without two strings");
                    }
                    Push(Global(m, n, at));
                    return true;
                }
            case (byte)'Q': // BINPERSID
                {
                    Need(1, at);
                    if (Pop() is not object?[] pid)
                    {
                        throw Bad($"a persistent id that is not a tuple at byte {at}");
                    }
                    Push(_persistentLoad(pid));
                    return true;
                }
            case (byte)'R': // REDUCE
                {
                    Need(2, at);
                    var args = Pop();
                    var callable = Pop();
                    if (callable is not PickleGlobal g)
                    {
                        throw Refuse("REDUCE", $"REDUCE at byte {at} calls {Describe(callable)}, not an allowed global");
                    }
                    if (args is not object?[] a)
                    {
                        throw Bad($"REDUCE at byte {at} with arguments that are not a tuple");
                    }
                    Push(Reduce(g, a, at));
                    return true;
                }
            case (byte)'b' when _stack.Count >= 2 && _stack[^2] is PickleDict: // BUILD: an OrderedDict's attributes (state_dict's _metadata)
                {
                    var state = Pop();
                    if (state is not (PickleDict or null))
                    {
                        throw Refuse("BUILD", $"BUILD at byte {at} sets the state of an OrderedDict from {Describe(state)}");
                    }
                    return true;
                }
            default:
                return false;
        }
    }
    private PickleGlobal Global(string module, string name, int at)
    {
        var full = module + "." + name;
        if (!PyTorchCheckpoint.AllowedGlobals.Contains(full, StringComparer.Ordinal))
        {
            throw Refuse(full,
                $"it names the Python global '{full}' (at byte {at}); a weights-only checkpoint may name only " +
                $"{string.Join(", ", PyTorchCheckpoint.AllowedGlobals)}");
        }
        return new PickleGlobal(module, name);
    }

    private object Reduce(PickleGlobal g, object?[] a, int at)
    {
        switch (g.FullName)
        {
            case "collections.OrderedDict":
                if (a.Length != 0)
                {
                    throw Bad($"collections.OrderedDict called with {a.Length} argument(s) at byte {at}");
                }
                return new PickleDict();
            case "torch._utils._rebuild_tensor_v2": // (storage, offset, size, stride, requires_grad, backward_hooks[, metadata])
            case "torch._utils._rebuild_tensor": // (storage, offset, size, stride)
                {
                    bool v2 = g.Name.EndsWith("_v2", StringComparison.Ordinal);
                    if (v2 ? a.Length is not (6 or 7) : a.Length != 4)
                    {
                        throw Bad($"{g.FullName} called with {a.Length} argument(s) at byte {at}");
                    }
                    if (a[0] is not StorageRef storage)
                    {
                        throw Bad($"{g.FullName} at byte {at} without a storage");
                    }
                    if (v2)
                    {
                        if (a[4] is not bool)
                        {
                            throw Bad($"{g.FullName} at byte {at}: requires_grad is {Describe(a[4])}");
                        }
                        if (a[5] is not PickleDict { Items.Count: 0 } || (a.Length == 7 && a[6] is not (null or PickleDict { Items.Count: 0 })))
                        {
                            throw Refuse(g.FullName, $"{g.FullName} at byte {at} carries backward hooks or tensor metadata");
                        }
                    }
                    return new TensorRef(storage, Int(a[1], "storage offset", at), Ints(a[2], "size", at), Ints(a[3], "stride", at));
                }
            case "torch._utils._rebuild_parameter": // (data, requires_grad, backward_hooks)
                if (a.Length != 3 || a[0] is not TensorRef t || a[1] is not bool || a[2] is not PickleDict { Items.Count: 0 })
                {
                    throw Bad($"{g.FullName} at byte {at} without (tensor, requires_grad, no hooks)");
                }
                return t;
            default:
                throw Refuse(g.FullName, $"it calls '{g.FullName}' (at byte {at}), which is allowed only as a storage type");
        }
    }

    private long Int(object? value, string what, int at) =>
        value is long v ? v : throw Bad($"a tensor's {what} is {Describe(value)} at byte {at}");

    private long[] Ints(object? value, string what, int at) =>
        value is object?[] items ? items.Select(i => Int(i, what, at)).ToArray() : throw Bad($"a tensor's {what} is {Describe(value)} at byte {at}");

    internal static string Describe(object? value) => value switch
    {
        null => "None",
        string s => $"the string '{(s.Length > 40 ? s[..40] + "..." : s)}'",
        long or BigInteger => "an integer",
        double => "a float",
        bool => "a bool",
        object?[] => "a tuple",
        List<object?> => "a list",
        PickleDict => "a dict",
        PickleGlobal g => $"the global '{g.FullName}'",
        StorageRef => "a storage",
        TensorRef => "a tensor",
        _ => value.GetType().Name,
    };

    private void Memo(long index, int at)
    {
        Need(1, at);
        _memo[index] = _stack[^1];
    }

    private void Get(long index, int at)
    {
        if (!_memo.TryGetValue(index, out var value))
        {
            throw Bad($"memo entry {index} read before it was written (byte {at})");
        }
        Push(value);
    }

    private List<object?> ListAt(int index, int at) =>
        _stack[index] as List<object?> ?? throw Bad($"APPEND to {Describe(_stack[index])} at byte {at}");

    private PickleDict DictAt(int index, int at) =>
        _stack[index] as PickleDict ?? throw Bad($"SETITEM on {Describe(_stack[index])} at byte {at}");

    private void Push(object? value) => _stack.Add(value);

    private object? Pop()
    {
        var value = _stack[^1];
        _stack.RemoveAt(_stack.Count - 1);
        return value;
    }

    private void Need(int count, int at)
    {
        int floor = _marks.Count > 0 ? _marks.Peek() : 0;
        if (_stack.Count - floor < count)
        {
            throw Bad($"stack underflow at byte {at}");
        }
    }

    private List<object?> PopMark()
    {
        if (_marks.Count == 0)
        {
            throw Bad($"no MARK before byte {_pos - 1}");
        }
        int mark = _marks.Pop();
        var items = _stack.GetRange(mark, _stack.Count - mark);
        _stack.RemoveRange(mark, _stack.Count - mark);
        return items;
    }

    private byte ReadByte()
    {
        if (_pos >= _data.Length)
        {
            throw Truncated("it ends before its STOP opcode");
        }
        return _data[_pos++];
    }

    private ReadOnlySpan<byte> ReadBytes(long count)
    {
        if (count < 0 || count > _data.Length - _pos)
        {
            throw Truncated($"it ends inside a value at byte {_pos}");
        }
        var span = _data.AsSpan(_pos, (int)count);
        _pos += (int)count;
        return span;
    }

    private string ReadString(ulong count) =>
        count > int.MaxValue ? throw Bad($"a string of {count} bytes") : Encoding.UTF8.GetString(ReadBytes((long)count));

    private string ReadLine()
    {
        int end = Array.IndexOf(_data, (byte)'\n', _pos);
        if (end < 0)
        {
            throw Truncated($"it ends inside a GLOBAL at byte {_pos}");
        }
        if (end - _pos > 1000)
        {
            throw Bad($"a GLOBAL without a line end at byte {_pos}");
        }
        var line = Encoding.UTF8.GetString(_data, _pos, end - _pos);
        _pos = end + 1;
        return line;
    }

    private FormatException Bad(string what) => new($"'{_source}' is not a valid PyTorch checkpoint pickle: {what}.");

    private TruncatedPickleException Truncated(string what) => new($"'{_source}' is not a valid PyTorch checkpoint pickle: {what} (truncated).");

    private UnsafeCheckpointException Refuse(string refused, string what) =>
        new(_source, refused, $"Refused to load '{_source}': {what}. Pickle checkpoints can run code when Python loads them; " +
            "Microsoft.ML.Gwt reads only tensors and plain containers from them (as torch.load(weights_only=True)). " +
            "Use the model's model.safetensors if it has one.");
}
