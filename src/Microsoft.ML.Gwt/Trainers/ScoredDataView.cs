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
        ValueGetter<uint> predicted = (ref uint v) => v = GwtTextClassificationTransformer.ArgMax(probabilities());
        return predicted;
    }
}

/// <summary>The lazy output of <see cref="GwtTextClassificationTransformer.Transform"/>: input columns pass through, and
/// scores are computed in batches of <c>ScoringBatchSize</c> rows when first asked for.</summary>
internal sealed class ScoredDataView : IDataView
{
    private readonly GwtTextClassificationTransformer _parent;
    private readonly IDataView _input;

    public ScoredDataView(GwtTextClassificationTransformer parent, IDataView input)
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
        private readonly DataViewRowCursor _main;
        private readonly DataViewRowCursor? _ahead;
        private readonly ValueGetter<ReadOnlyMemory<char>>? _first, _second;
        private readonly bool[] _active;
        private readonly int _inputCount;
        private float[][] _buffer = Array.Empty<float[]>();
        private long _bufferStart = -1;

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
            bool scores = _active[_inputCount] || _active[_inputCount + 1];
            _main = view._input.GetRowCursor(inputSchema.Where(c => _active[c.Index]));
            if (scores)
            {
                _ahead = view._input.GetRowCursor(view._parent.TextColumnsOf(inputSchema));
                (_first, _second) = view._parent.TextGetters(_ahead);
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _main.Position;

        public override long Batch => _main.Batch;

        public override bool MoveNext() => _main.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => _main.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
            {
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            }
            if (column.Index < _inputCount)
            {
                return _main.GetGetter<TValue>(_main.Schema[column.Index]);
            }
            return ScoreGetters.Create<TValue>(column.Index, _inputCount, Current) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        private float[] Current()
        {
            long pos = _main.Position;
            if (pos < _bufferStart || pos >= _bufferStart + _buffer.Length)
            {
                // Bring the look-ahead cursor to this row, then score the next batch of rows from here.
                while (_ahead!.Position < pos - 1 || _ahead.Position < 0 && pos > 0)
                {
                    _ahead.MoveNext();
                }
                var rows = new List<(string?, string?)>();
                int size = _view._parent.Options.ScoringBatchSize;
                while (rows.Count < size && _ahead.MoveNext())
                {
                    rows.Add((GwtTextClassificationTransformer.Read(_first!), _second is null ? null : GwtTextClassificationTransformer.Read(_second)));
                }
                _buffer = _view._parent.ScoreBatch(rows);
                _bufferStart = pos;
            }
            return _buffer[pos - _bufferStart];
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _main.Dispose();
                _ahead?.Dispose();
            }
            base.Dispose(disposing);
        }
    }
}

/// <summary>Row-by-row scoring for <c>PredictionEngine</c>: the scores of the current input row, computed once per row.</summary>
internal sealed class RowMapper : IRowToRowMapper
{
    private readonly GwtTextClassificationTransformer _parent;

    public RowMapper(GwtTextClassificationTransformer parent, DataViewSchema inputSchema)
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
                _cached = _mapper._parent.ScoreBatch(new[] { ((string?)GwtTextClassificationTransformer.Read(_first!), _second is null ? null : GwtTextClassificationTransformer.Read(_second)) })[0];
                _cachedPosition = _input.Position;
            }
            return _cached;
        }
    }
}
