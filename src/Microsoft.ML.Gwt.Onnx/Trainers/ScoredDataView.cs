using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Getters of the score and predicted-label columns over a source of class probabilities.</summary>
internal static class ScoreGetters
{
    public static Delegate Create<T>(int column, int inputCount, Func<float[]> probabilities)
    {
        if (column == inputCount)
        {
            ValueGetter<VBuffer<float>> score = (ref VBuffer<float> v) =>
            {
                var p = probabilities();
                var editor = VBufferEditor.Create(ref v, p.Length);
                p.AsSpan().CopyTo(editor.Values);
                v = editor.Commit();
            };
            return score;
        }
        ValueGetter<uint> predicted = (ref uint v) => v = ArgMax(probabilities());
        return predicted;
    }

    /// <summary>The key (1-based) of the most probable class.</summary>
    internal static uint ArgMax(float[] probs)
    {
        int best = 0;
        for (int i = 1; i < probs.Length; i++)
        {
            if (probs[i] > probs[best])
            {
                best = i;
            }
        }
        return (uint)best + 1;
    }

    /// <summary>Reads a text getter's current value.</summary>
    internal static string Read(ValueGetter<ReadOnlyMemory<char>> getter)
    {
        ReadOnlyMemory<char> v = default;
        getter(ref v);
        return v.ToString();
    }
}

/// <summary>What <see cref="ScoredDataView"/> and <see cref="RowMapper"/> need from a text classifier: the TorchSharp
/// <c>GwtTextClassificationTransformer</c> and the ONNX Runtime <c>GwtOnnxTextClassificationTransformer</c> score
/// through the same cursors.</summary>
internal interface ITextClassifierScorer
{
    /// <summary>The input schema plus the score and predicted-label columns.</summary>
    DataViewSchema GetOutputSchema(DataViewSchema inputSchema);

    /// <summary>The text columns the model reads.</summary>
    IEnumerable<DataViewSchema.Column> TextColumnsOf(DataViewSchema schema);

    /// <summary>Getters of the text columns of a row.</summary>
    (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) TextGetters(DataViewRow row);

    /// <summary>Rows per forward pass.</summary>
    int ScoringBatchSize { get; }

    /// <summary>Class probabilities of each row.</summary>
    float[][] ScoreBatch(IReadOnlyList<(string? First, string? Second)> rows);
}

/// <summary>The lazy output of a text classifier's <c>Transform</c>: input columns pass through, and
/// when the score or predicted-label column is asked for, the input is read once, <c>ScoringBatchSize</c> rows at a
/// time: each batch's active input values are kept while its rows are served, and it is scored on the first request.</summary>
internal sealed class ScoredDataView : IDataView
{
    private readonly ITextClassifierScorer _parent;
    private readonly IDataView _input;

    public ScoredDataView(ITextClassifierScorer parent, IDataView input)
    {
        _parent = parent;
        _input = input;
        Schema = parent.GetOutputSchema(input.Schema);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly ScoredDataView _view;
        private readonly DataViewRowCursor _input;
        private readonly bool[] _active;
        private readonly int _inputCount;
        private readonly bool _scoring;
        private readonly int _batchSize;
        private readonly RowBatch? _batch;
        private long _position = -1;
        private bool _ended;

        public Cursor(ScoredDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
        {
            _view = view;
            var inputSchema = view._input.Schema;
            _inputCount = inputSchema.Count;
            _active = new bool[view.Schema.Count];
            foreach (var c in columnsNeeded)
            {
                _active[c.Index] = true;
            }
            _scoring = _active.Skip(_inputCount).Any(a => a);
            var needed = inputSchema.Where(c => _active[c.Index]);
            if (_scoring)
            {
                needed = needed.Concat(view._parent.TextColumnsOf(inputSchema)).Distinct();
            }
            _input = view._input.GetRowCursor(needed);
            _batchSize = view._parent.ScoringBatchSize;
            if (_scoring)
            {
                _batch = new RowBatch(view._parent, _input, inputSchema.Where(c => _active[c.Index]), _batchSize);
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _scoring ? _position : _input.Position;

        public override long Batch => _input.Batch;

        public override bool MoveNext()
        {
            if (!_scoring)
            {
                return _input.MoveNext();
            }
            if (_ended)
            {
                return false;
            }
            if (!_batch!.Advance())
            {
                _ended = true;
                return false;
            }
            _position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter() => _scoring ? _batch!.IdGetter() : _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
            {
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            }
            if (column.Index < _inputCount)
            {
                return _scoring ? _batch!.Getter<TValue>(column.Index) : _input.GetGetter<TValue>(_input.Schema[column.Index]);
            }
            return ScoreGetters.Create<TValue>(column.Index, _inputCount, _batch!.Scores) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>Up to <c>ScoringBatchSize</c> consecutive input rows: their texts, ids and active column values, read
/// from the one input cursor as it moves, and their class probabilities once asked for.</summary>
internal sealed class RowBatch
{
    private readonly ITextClassifierScorer _parent;
    private readonly DataViewRowCursor _input;
    private readonly ValueGetter<ReadOnlyMemory<char>> _first;
    private readonly ValueGetter<ReadOnlyMemory<char>>? _second;
    private readonly ValueGetter<DataViewRowId> _id;
    private readonly Dictionary<int, IColumnBuffer> _columns;
    private readonly (string? First, string? Second)[] _texts;
    private readonly DataViewRowId[] _ids;
    private float[][]? _scores;
    private int _count;
    private int _slot = -1;
    private bool _sourceEnded;

    public RowBatch(ITextClassifierScorer parent, DataViewRowCursor input, IEnumerable<DataViewSchema.Column> passThrough, int size)
    {
        _parent = parent;
        _input = input;
        (_first, _second) = parent.TextGetters(input);
        _id = input.GetIdGetter();
        _texts = new (string?, string?)[size];
        _ids = new DataViewRowId[size];
        _columns = passThrough.ToDictionary(c => c.Index, c => (IColumnBuffer)Activator.CreateInstance(
            typeof(ColumnBuffer<>).MakeGenericType(c.Type.RawType), input, c, size)!);
    }

    /// <summary>Moves to the next row, reading the next batch from the input when this one is used up. The batch is
    /// as long as the input allows: a source that ends early ends the batch (and the cursor) there.</summary>
    public bool Advance()
    {
        if (_slot + 1 < _count)
        {
            _slot++;
            return true;
        }
        if (_sourceEnded)
        {
            return false;
        }
        _count = 0;
        _scores = null;
        while (_count < _texts.Length)
        {
            if (!_input.MoveNext())
            {
                _sourceEnded = true;
                break;
            }
            _texts[_count] = (ScoreGetters.Read(_first), _second is null ? null : ScoreGetters.Read(_second));
            _id(ref _ids[_count]);
            foreach (var column in _columns.Values)
            {
                column.Capture(_count);
            }
            _count++;
        }
        _slot = 0;
        return _count > 0;
    }

    /// <summary>The current row's class probabilities (the whole batch is scored on the first call).</summary>
    public float[] Scores()
    {
        _scores ??= _parent.ScoreBatch(new ArraySegment<(string?, string?)>(_texts, 0, _count));
        return _scores[_slot];
    }

    public ValueGetter<DataViewRowId> IdGetter() => (ref DataViewRowId v) => v = _ids[_slot];

    public ValueGetter<TValue> Getter<TValue>(int column) => _columns[column] is ColumnBuffer<TValue> buffer
        ? buffer.Getter(() => _slot)
        : throw new InvalidOperationException($"Column {column} of the input is not of type {typeof(TValue).Name}.");

    private interface IColumnBuffer
    {
        void Capture(int slot);
    }

    /// <summary>One input column's values for the rows of a batch.</summary>
    private sealed class ColumnBuffer<T> : IColumnBuffer
    {
        private readonly ValueGetter<T> _source;
        private readonly T[] _values;
        private T _scratch = default!;

        public ColumnBuffer(DataViewRowCursor input, DataViewSchema.Column column, int size)
        {
            _source = input.GetGetter<T>(column);
            _values = new T[size];
        }

        public void Capture(int slot)
        {
            _source(ref _scratch);
            _values[slot] = Own(_scratch, _values[slot]);
        }

        public ValueGetter<T> Getter(Func<int> slot) => (ref T v) => v = Share(_values[slot()], v);

        /// <summary>Our own copy of a value whose buffers the source may reuse on its next row.</summary>
        private static T Own(T value, T previous) => value switch
        {
            ReadOnlyMemory<char> text => (T)(object)text.ToString().AsMemory(),
            _ when VectorCopier<T>.Copy is { } copy => copy(value, previous),
            _ => value,
        };

        /// <summary>Vectors are copied out to the caller, who may write into the buffer it gets.</summary>
        private static T Share(T value, T callerBuffer) => VectorCopier<T>.Copy is { } copy ? copy(value, callerBuffer) : value;
    }

    /// <summary>Copies a <c>VBuffer&lt;TItem&gt;</c> into another one's arrays; null for non-vector types.</summary>
    private static class VectorCopier<T>
    {
        public static readonly Func<T, T, T>? Copy = typeof(T).IsGenericType && typeof(T).GetGenericTypeDefinition() == typeof(VBuffer<>)
            ? (Func<T, T, T>)typeof(VectorCopier<T>).GetMethod(nameof(CopyVector), System.Reflection.BindingFlags.NonPublic | System.Reflection.BindingFlags.Static)!
                .MakeGenericMethod(typeof(T).GetGenericArguments()[0]).CreateDelegate(typeof(Func<T, T, T>))
            : null;

        private static VBuffer<TItem> CopyVector<TItem>(VBuffer<TItem> source, VBuffer<TItem> destination)
        {
            source.CopyTo(ref destination);
            return destination;
        }
    }
}

/// <summary>Row-by-row scoring for <c>PredictionEngine</c>: the scores of the current input row, computed once per row.</summary>
internal sealed class RowMapper : IRowToRowMapper
{
    private readonly ITextClassifierScorer _parent;

    public RowMapper(ITextClassifierScorer parent, DataViewSchema inputSchema)
    {
        _parent = parent;
        InputSchema = inputSchema;
        OutputSchema = parent.GetOutputSchema(inputSchema);
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var list = dependingColumns.ToList();
        var result = list.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        if (list.Any(c => c.Index >= InputSchema.Count))
        {
            result.AddRange(_parent.TextColumnsOf(InputSchema));
        }
        return result.Distinct();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new Row(this, input, activeColumns);

    private sealed class Row : DataViewRow
    {
        private readonly RowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _first, _second;
        private long _cachedPosition = long.MinValue;
        private float[] _cached = Array.Empty<float>();

        public Row(RowMapper mapper, DataViewRow input, IEnumerable<DataViewSchema.Column> active)
        {
            _mapper = mapper;
            _input = input;
            _active = new bool[mapper.OutputSchema.Count];
            foreach (var c in active)
            {
                _active[c.Index] = true;
            }
            if (_active.Skip(mapper.InputSchema.Count).Any(a => a))
            {
                (_first, _second) = mapper._parent.TextGetters(input);
            }
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            int n = _mapper.InputSchema.Count;
            if (column.Index < n)
            {
                return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            }
            return ScoreGetters.Create<TValue>(column.Index, n, Current) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        private float[] Current()
        {
            if (_input.Position != _cachedPosition || _input.Position < 0)
            {
                _cached = _mapper._parent.ScoreBatch(new[] { ((string?)ScoreGetters.Read(_first!), _second is null ? null : ScoreGetters.Read(_second)) })[0];
                _cachedPosition = _input.Position;
            }
            return _cached;
        }
    }
}
