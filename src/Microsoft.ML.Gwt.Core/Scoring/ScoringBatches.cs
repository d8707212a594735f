using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>The producer side of <see cref="ScoredDataView"/>: reads consecutive rows from the one input cursor,
/// <c>ScoringBatchSize</c> at a time, keeps their ids and active pass-through values, and tokenizes their texts. Only
/// the thread that enumerates <see cref="Read"/> may touch the input cursor.</summary>
internal sealed class ScoringBatches
{
    private readonly ITextClassifierScorer _scorer;
    private readonly DataViewRowCursor _input;
    private readonly ValueGetter<ReadOnlyMemory<char>> _first;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _second;
    private readonly ValueGetter<DataViewRowId> _id;
    private readonly Dictionary<int, IColumnReader> _columns;
    private readonly int _size;

    /// <summary>Makes the input cursor's getters (on the calling thread, before any producer runs).</summary>
    public ScoringBatches(ITextClassifierScorer scorer, DataViewRowCursor input, IEnumerable<DataViewSchema.Column> passThrough)
    {
        _scorer = scorer;
        _input = input;
        _size = scorer.ScoringBatchSize;
        (_first, _second) = scorer.TextGetters(input);
        _id = input.GetIdGetter();
        _columns = passThrough.ToDictionary(c => c.Index, c => (IColumnReader)Activator.CreateInstance(
            typeof(ColumnReader<>).MakeGenericType(c.Type.RawType), input, c)!);
    }

    /// <summary>Whether pass-through column <paramref name="column"/> is kept, with values of type <typeparamref name="T"/>.</summary>
    public bool Holds<T>(int column) => _columns.TryGetValue(column, out var reader) && reader is ColumnReader<T>;

    /// <summary>The batches in input order. A batch is as long as the input allows: a source that ends early ends the
    /// batch (and the enumeration) there, and the cursor is not moved again after it has ended.</summary>
    public IEnumerable<ScoringBatch> Read()
    {
        while (true)
        {
            var texts = new List<(string? First, string? Second)>(_size);
            var ids = new DataViewRowId[_size];
            var values = _columns.ToDictionary(c => c.Key, c => c.Value.NewValues(_size));
            bool ended = false;
            while (texts.Count < _size)
            {
                if (!_input.MoveNext())
                {
                    ended = true;
                    break;
                }
                texts.Add((ScoreGetters.Read(_first), _second is null ? null : ScoreGetters.Read(_second)));
                _id(ref ids[texts.Count - 1]);
                foreach (var column in values.Values)
                {
                    column.Capture(texts.Count - 1);
                }
            }
            if (texts.Count > 0)
            {
                yield return new ScoringBatch(_scorer, texts.Count, ids, values, _scorer.Encode(texts));
            }
            if (ended)
            {
                yield break;
            }
        }
    }

    private interface IColumnReader
    {
        IColumnValues NewValues(int size);
    }

    /// <summary>Reads one input column's values into a new buffer per batch.</summary>
    private sealed class ColumnReader<T> : IColumnReader
    {
        private readonly ValueGetter<T> _source;

        public ColumnReader(DataViewRowCursor input, DataViewSchema.Column column) => _source = input.GetGetter<T>(column);

        public IColumnValues NewValues(int size) => new ColumnValues<T>(_source, size);
    }
}

/// <summary>One pass-through column's values for the rows of a batch.</summary>
internal interface IColumnValues
{
    /// <summary>Reads the input's current value into <paramref name="slot"/> (producer thread).</summary>
    void Capture(int slot);
}

/// <summary>One input column's values for the rows of a batch, owned (copied out of buffers the source may reuse).</summary>
internal sealed class ColumnValues<T> : IColumnValues
{
    private readonly ValueGetter<T> _source;
    private readonly T[] _values;

    public ColumnValues(ValueGetter<T> source, int size)
    {
        _source = source;
        _values = new T[size];
    }

    public void Capture(int slot)
    {
        T scratch = default!;
        _source(ref scratch);
        _values[slot] = Own(scratch);
    }

    /// <summary>Row <paramref name="slot"/>'s value; vectors are copied into the caller's buffer, which it may write into.</summary>
    public void Get(int slot, ref T value) => value = VectorCopier<T>.Copy is { } copy ? copy(_values[slot], value) : _values[slot];

    /// <summary>Our own copy of a value whose buffers the source may reuse on its next row.</summary>
    private static T Own(T value) => value switch
    {
        ReadOnlyMemory<char> text => (T)(object)text.ToString().AsMemory(),
        _ when VectorCopier<T>.Copy is { } copy => copy(value, default!),
        _ => value,
    };

    /// <summary>Copies a <c>VBuffer&lt;TItem&gt;</c> into another one's arrays; null for non-vector types.</summary>
    private static class VectorCopier<TVector>
    {
        public static readonly Func<TVector, TVector, TVector>? Copy = typeof(TVector).IsGenericType && typeof(TVector).GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? (Func<TVector, TVector, TVector>)typeof(VectorCopier<TVector>).GetMethod(nameof(CopyVector), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(typeof(TVector).GetGenericArguments()[0]).CreateDelegate(typeof(Func<TVector, TVector, TVector>))
            : null;

        private static VBuffer<TItem> CopyVector<TItem>(VBuffer<TItem> source, VBuffer<TItem> destination)
        {
            source.CopyTo(ref destination);
            return destination;
        }
    }
}

/// <summary>Up to <c>ScoringBatchSize</c> consecutive input rows, read and tokenized by the producer: their ids, kept
/// pass-through values and token ids, and their class probabilities once asked for (on the consumer's thread).</summary>
internal sealed class ScoringBatch
{
    private readonly ITextClassifierScorer _scorer;
    private readonly DataViewRowId[] _ids;
    private readonly Dictionary<int, IColumnValues> _values;
    private readonly EncodedText[] _encoded;
    private float[][]? _scores;

    public ScoringBatch(ITextClassifierScorer scorer, int count, DataViewRowId[] ids, Dictionary<int, IColumnValues> values, EncodedText[] encoded)
    {
        _scorer = scorer;
        Count = count;
        _ids = ids;
        _values = values;
        _encoded = encoded;
    }

    /// <summary>Rows in the batch.</summary>
    public int Count { get; }

    public DataViewRowId Id(int slot) => _ids[slot];

    /// <summary>Pass-through column <paramref name="column"/>'s value at <paramref name="slot"/>.</summary>
    public void Get<T>(int column, int slot, ref T value) => ((ColumnValues<T>)_values[column]).Get(slot, ref value);

    /// <summary>The rows' class probabilities (one forward pass on the first call).</summary>
    public float[][] Scores() => _scores ??= _scorer.ScoreEncoded(_encoded);
}
