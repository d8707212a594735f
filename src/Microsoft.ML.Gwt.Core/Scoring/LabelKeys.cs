using System.Globalization;
using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// The values behind a label's keys: the <c>KeyValues</c> annotation that <c>MapValueToKey</c> puts on a
/// <c>Key&lt;UInt32&gt;</c> label, of whatever primitive type the original label had (text, bool, any integer, float,
/// double, date/time). Read, compared, written and read back without converting them, so that <c>PredictedLabel</c>
/// carries the label's original values and <c>MapKeyToValue</c> gives back the original type.
/// </summary>
public sealed class LabelKeys
{
    private static readonly (byte Code, PrimitiveDataViewType Type)[] Types =
    {
        (1, TextDataViewType.Instance), (2, BooleanDataViewType.Instance),
        (3, NumberDataViewType.SByte), (4, NumberDataViewType.Byte), (5, NumberDataViewType.Int16), (6, NumberDataViewType.UInt16),
        (7, NumberDataViewType.Int32), (8, NumberDataViewType.UInt32), (9, NumberDataViewType.Int64), (10, NumberDataViewType.UInt64),
        (11, NumberDataViewType.Single), (12, NumberDataViewType.Double),
        (13, TimeSpanDataViewType.Instance), (14, DateTimeDataViewType.Instance), (15, DateTimeOffsetDataViewType.Instance),
    };

    private readonly ITyped _typed;

    private LabelKeys(ITyped typed) => _typed = typed;

    /// <summary>The type of one value (the label's type before <c>MapValueToKey</c>).</summary>
    public PrimitiveDataViewType ItemType => _typed.ItemType;

    /// <summary>The number of keys.</summary>
    public int Count => _typed.Count;

    /// <summary>Whether values of <paramref name="type"/> can be carried (and saved in a model file).</summary>
    public static bool IsSupported(DataViewType type) => Types.Any(t => t.Type.Equals(type));

    /// <summary>The label's key values, or null when the column has no <c>KeyValues</c> annotation.</summary>
    /// <exception cref="ArgumentOutOfRangeException">The key values are of a type that cannot be carried (the message names the column).</exception>
    public static LabelKeys? FromColumn(DataViewSchema.Column label)
    {
        var kv = label.Annotations.Schema.GetColumnOrNull(AnnotationKinds.KeyValues);
        if (kv is null)
        {
            return null;
        }
        if (kv.Value.Type is not VectorDataViewType { ItemType: PrimitiveDataViewType item } vector || !IsSupported(item))
        {
            throw new ArgumentOutOfRangeException(label.Name,
                $"The key values of label column '{label.Name}' have type {kv.Value.Type}; supported: vectors of {string.Join(", ", Types.Select(t => t.Type.RawType.Name))}.");
        }
        var typed = Create(item);
        typed.ReadAnnotation(label.Annotations);
        return new LabelKeys(typed);
    }

    /// <summary>The values as text (for <c>SlotNames</c> and <c>GwtTextClassificationTransformer.LabelNames</c>).</summary>
    public string[] ToText() => _typed.ToText();

    /// <summary>Describes the first difference from <paramref name="other"/> (another label's keys), or returns null when
    /// both have the same type and the same values in the same key order.</summary>
    public string? FirstDifference(LabelKeys other)
    {
        if (!ItemType.Equals(other.ItemType))
        {
            return $"values of type {ItemType.RawType.Name} against {other.ItemType.RawType.Name}";
        }
        if (Count != other.Count)
        {
            return $"{Count} keys against {other.Count}";
        }
        int key = _typed.FirstDifference(other._typed);
        return key < 0 ? null : $"key {key + 1} is '{ToText()[key]}' against '{other.ToText()[key]}'";
    }

    /// <summary>Adds a vector annotation of the values, in their own type.</summary>
    public void AddAnnotation(DataViewSchema.Annotations.Builder builder, string name) => _typed.AddAnnotation(builder, name);

    /// <summary>Writes the type code, the count and the values.</summary>
    public void Save(BinaryWriter writer)
    {
        writer.Write(Types.First(t => t.Type.Equals(ItemType)).Code);
        writer.Write(Count);
        _typed.Write(writer);
    }

    /// <summary>Reads what <see cref="Save"/> wrote, expecting <paramref name="count"/> values.</summary>
    /// <exception cref="InvalidDataException">An unknown type code or another count.</exception>
    public static LabelKeys Load(BinaryReader reader, int count)
    {
        byte code = reader.ReadByte();
        var entry = Types.FirstOrDefault(t => t.Code == code);
        if (entry.Type is null)
        {
            throw new InvalidDataException($"The model file's label values have an unknown type code {code}.");
        }
        int n = reader.ReadInt32();
        if (n != count)
        {
            throw new InvalidDataException($"The model file has {n} label values for {count} classes.");
        }
        var typed = Create(entry.Type);
        typed.Read(reader, n);
        return new LabelKeys(typed);
    }

    private static ITyped Create(PrimitiveDataViewType item) =>
        (ITyped)Activator.CreateInstance(typeof(Typed<>).MakeGenericType(item.RawType), item)!;

    private interface ITyped
    {
        PrimitiveDataViewType ItemType { get; }
        int Count { get; }
        void ReadAnnotation(DataViewSchema.Annotations annotations);
        string[] ToText();
        int FirstDifference(ITyped other);
        void AddAnnotation(DataViewSchema.Annotations.Builder builder, string name);
        void Write(BinaryWriter writer);
        void Read(BinaryReader reader, int count);
    }

    private sealed class Typed<T> : ITyped
    {
        private T[] _values = Array.Empty<T>();

        public Typed(PrimitiveDataViewType itemType) => ItemType = itemType;

        public PrimitiveDataViewType ItemType { get; }

        public int Count => _values.Length;

        public void ReadAnnotation(DataViewSchema.Annotations annotations)
        {
            VBuffer<T> values = default;
            annotations.GetValue(AnnotationKinds.KeyValues, ref values);
            _values = values.DenseValues().Select(Own).ToArray();
        }

        public string[] ToText() => _values.Select(v => v switch
        {
            ReadOnlyMemory<char> text => text.ToString(),
            float f => f.ToString("R", CultureInfo.InvariantCulture),
            double d => d.ToString("R", CultureInfo.InvariantCulture),
            DateTime t => t.ToString("o", CultureInfo.InvariantCulture),
            DateTimeOffset t => t.ToString("o", CultureInfo.InvariantCulture),
            IFormattable f => f.ToString(null, CultureInfo.InvariantCulture),
            _ => v?.ToString() ?? "",
        }).ToArray();

        public int FirstDifference(ITyped other)
        {
            var theirs = ((Typed<T>)other)._values;
            for (int i = 0; i < _values.Length; i++)
            {
                if (!Same(_values[i], theirs[i]))
                {
                    return i;
                }
            }
            return -1;
        }

        public void AddAnnotation(DataViewSchema.Annotations.Builder builder, string name)
        {
            var values = _values;
            ValueGetter<VBuffer<T>> getter = (ref VBuffer<T> v) =>
            {
                var editor = VBufferEditor.Create(ref v, values.Length);
                values.AsSpan().CopyTo(editor.Values);
                v = editor.Commit();
            };
            builder.Add(name, new VectorDataViewType(ItemType, values.Length), getter);
        }

        public void Write(BinaryWriter writer)
        {
            foreach (var v in _values)
            {
                switch (v)
                {
                    case ReadOnlyMemory<char> x: writer.Write(x.ToString()); break;
                    case bool x: writer.Write(x); break;
                    case sbyte x: writer.Write(x); break;
                    case byte x: writer.Write(x); break;
                    case short x: writer.Write(x); break;
                    case ushort x: writer.Write(x); break;
                    case int x: writer.Write(x); break;
                    case uint x: writer.Write(x); break;
                    case long x: writer.Write(x); break;
                    case ulong x: writer.Write(x); break;
                    case float x: writer.Write(x); break;
                    case double x: writer.Write(x); break;
                    case TimeSpan x: writer.Write(x.Ticks); break;
                    case DateTime x: writer.Write(x.ToBinary()); break;
                    case DateTimeOffset x: writer.Write(x.Ticks); writer.Write((short)x.Offset.TotalMinutes); break;
                    default: throw new NotSupportedException($"Label values of type {typeof(T).Name} cannot be saved.");
                }
            }
        }

        public void Read(BinaryReader reader, int count)
        {
            var values = new T[count];
            for (int i = 0; i < count; i++)
            {
                try
                {
                    values[i] = (T)ReadOne(reader);
                }
                catch (ArgumentException ex)
                {
                    throw new InvalidDataException($"The model file's label value {i + 1} is invalid: {ex.Message}", ex);
                }
            }
            _values = values;
        }

        private static object ReadOne(BinaryReader reader) =>
            typeof(T) switch
            {
                var t when t == typeof(ReadOnlyMemory<char>) => reader.ReadString().AsMemory(),
                var t when t == typeof(bool) => reader.ReadBoolean(),
                var t when t == typeof(sbyte) => reader.ReadSByte(),
                var t when t == typeof(byte) => reader.ReadByte(),
                var t when t == typeof(short) => reader.ReadInt16(),
                var t when t == typeof(ushort) => reader.ReadUInt16(),
                var t when t == typeof(int) => reader.ReadInt32(),
                var t when t == typeof(uint) => reader.ReadUInt32(),
                var t when t == typeof(long) => reader.ReadInt64(),
                var t when t == typeof(ulong) => reader.ReadUInt64(),
                var t when t == typeof(float) => reader.ReadSingle(),
                var t when t == typeof(double) => reader.ReadDouble(),
                var t when t == typeof(TimeSpan) => new TimeSpan(reader.ReadInt64()),
                var t when t == typeof(DateTime) => DateTime.FromBinary(reader.ReadInt64()),
                _ => new DateTimeOffset(reader.ReadInt64(), TimeSpan.FromMinutes(reader.ReadInt16())),
            };

        /// <summary>Text values may point into a buffer the source reuses: keep our own copy.</summary>
        private static T Own(T value) => value is ReadOnlyMemory<char> text ? (T)(object)text.ToString().AsMemory() : value;

        private static bool Same(T a, T b) => a is ReadOnlyMemory<char> x && b is ReadOnlyMemory<char> y
            ? x.Span.SequenceEqual(y.Span)
            : EqualityComparer<T>.Default.Equals(a, b);
    }
}
