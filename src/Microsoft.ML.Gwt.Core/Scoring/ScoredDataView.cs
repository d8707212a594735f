using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Core.Threading;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>Getters of a classifier's score and predicted-label columns over a source of class probabilities.</summary>
internal static class ScoreGetters
{
    /// <summary>Output column 0: the <c>Score</c> vector; 1: the <c>PredictedLabel</c> key.</summary>
    public static Delegate Classifier(int outputColumn, Func<float[]> probabilities)
    {
        if (outputColumn == 0)
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

/// <summary>What <see cref="ScoredDataView"/> and <see cref="RowMapper"/> need from a scoring transformer
/// (<see cref="TextScoringTransformerBase"/>): the classifiers and the regressors, TorchSharp and ONNX Runtime, score
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

    /// <summary>The token ids of each row (thread-safe: <see cref="ScoredDataView"/> calls it on its producer thread).</summary>
    EncodedText[] Encode(IReadOnlyList<(string? First, string? Second)> rows);

    /// <summary>The outputs of each encoded row (one forward pass): class probabilities, or a regression score.</summary>
    float[][] ScoreEncoded(IReadOnlyList<EncodedText> rows);

    /// <summary>The getter of output column <paramref name="outputColumn"/> (0 = the first column the model adds) over a
    /// source of the current row's outputs. By default a classifier's: <c>Score</c> (the vector) and <c>PredictedLabel</c>
    /// (the key of the largest).</summary>
    Delegate ScoreGetter(int outputColumn, Func<float[]> outputs) => ScoreGetters.Classifier(outputColumn, outputs);
}

/// <summary>The lazy output of a text classifier's <c>Transform</c>: input columns pass through, and when the score or
/// predicted-label column is asked for, the input is read once, through one cursor, <c>ScoringBatchSize</c> rows at a
/// time by a producer thread that also tokenizes them, up to <see cref="PrefetchBatches"/> batches ahead of the
/// forward pass (<see cref="ScoringBatches"/> on a <see cref="Prefetcher"/>). Each batch keeps its rows' active input
/// values while they are served and is scored on the first request; the rows come in input order.</summary>
internal sealed class ScoredDataView : IDataView
{
    /// <summary>Tokenized batches the producer may hold ready ahead of the one being served. Memory: this many batches
    /// plus the one being read and the one being served, whatever the row count.</summary>
    internal const int PrefetchBatches = 2;

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
        private readonly long _batchId;
        private readonly ScoringBatches? _batches;
        private IEnumerator<ScoringBatch>? _prefetched;
        private ScoringBatch? _current;
        private int _slot;
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
            bool scoring = _active.Skip(_inputCount).Any(a => a);
            var needed = inputSchema.Where(c => _active[c.Index]);
            if (scoring)
            {
                needed = needed.Concat(view._parent.TextColumnsOf(inputSchema)).Distinct();
            }
            _input = view._input.GetRowCursor(needed);
            _batchId = _input.Batch;
            if (scoring)
            {
                // From here on only the producer thread touches the input cursor (its getters are made here, before it starts).
                _batches = new ScoringBatches(view._parent, _input, inputSchema.Where(c => _active[c.Index]));
            }
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _batches is null ? _input.Position : _position;

        public override long Batch => _batches is null ? _input.Batch : _batchId;

        public override bool MoveNext()
        {
            if (_batches is null)
            {
                return _input.MoveNext();
            }
            if (_ended)
            {
                return false;
            }
            if (_current is not null && _slot + 1 < _current.Count)
            {
                _slot++;
            }
            else
            {
                _prefetched ??= Prefetch(_batches, _input);
                if (!_prefetched.MoveNext())
                {
                    _ended = true;
                    _current = null;
                    return false;
                }
                _current = _prefetched.Current;
                _slot = 0;
            }
            _position++;
            return true;
        }

        public override ValueGetter<DataViewRowId> GetIdGetter()
        {
            if (_batches is null)
            {
                return _input.GetIdGetter();
            }
            return (ref DataViewRowId v) => v = Current().Id(_slot);
        }

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (!_active[column.Index])
            {
                throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
            }
            if (column.Index < _inputCount)
            {
                if (_batches is null)
                {
                    return _input.GetGetter<TValue>(_input.Schema[column.Index]);
                }
                if (!_batches.Holds<TValue>(column.Index))
                {
                    throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
                }
                int index = column.Index;
                return (ref TValue v) => Current().Get(index, _slot, ref v);
            }
            return _view._parent.ScoreGetter(column.Index - _inputCount, () => Current().Scores()[_slot]) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        /// <summary>The batches from a producer thread. A cursor dropped without Dispose does not pin that thread: once
        /// the cursor is collected, the producer stops and closes the input cursor (the lambda refers to the input
        /// cursor only, not to this cursor, which would keep it reachable).</summary>
        private static IEnumerator<ScoringBatch> Prefetch(ScoringBatches batches, DataViewRowCursor input) =>
            Prefetcher.Run(batches.Read(), PrefetchBatches, abandoned: () => input.Dispose()).GetEnumerator();

        private ScoringBatch Current() => _current ?? throw new InvalidOperationException("The cursor is not on a row.");

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                // Stops the producer and waits for it before its cursor is closed.
                _prefetched?.Dispose();
                _input.Dispose();
            }
            base.Dispose(disposing);
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
            return _mapper._parent.ScoreGetter(column.Index - n, Current) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
        }

        private float[] Current()
        {
            if (_input.Position != _cachedPosition || _input.Position < 0)
            {
                var parent = _mapper._parent;
                _cached = parent.ScoreEncoded(parent.Encode(new[] { ((string?)ScoreGetters.Read(_first!), _second is null ? null : ScoreGetters.Read(_second)) }))[0];
                _cachedPosition = _input.Position;
            }
            return _cached;
        }
    }
}
