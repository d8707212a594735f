using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Core.QuestionAnswering;

/// <summary>A row's answers, computed once per input position from its context and question, and the getters of the
/// answer and score columns over them.</summary>
internal sealed class QuestionAnswerRowCache
{
    private readonly QuestionAnswerTransformerBase _parent;
    private readonly DataViewRow _input;
    private readonly ValueGetter<ReadOnlyMemory<char>> _context, _question;
    private long _position = long.MinValue;
    private PredictedAnswer[] _answers = Array.Empty<PredictedAnswer>();

    public QuestionAnswerRowCache(QuestionAnswerTransformerBase parent, DataViewRow input)
    {
        _parent = parent;
        _input = input;
        _context = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[parent.Settings.Context]);
        _question = input.GetGetter<ReadOnlyMemory<char>>(input.Schema[parent.Settings.Question]);
    }

    private PredictedAnswer[] Current()
    {
        if (_input.Position != _position || _input.Position < 0)
        {
            ReadOnlyMemory<char> context = default, question = default;
            _context(ref context);
            _question(ref question);
            _answers = _parent.Predict(context.ToString(), question.ToString());
            _position = _input.Position;
        }
        return _answers;
    }

    /// <summary>Output column 0: the answers; 1: their scores.</summary>
    public Delegate Getter(int outputColumn)
    {
        if (outputColumn == 0)
        {
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> answers = (ref VBuffer<ReadOnlyMemory<char>> v) =>
            {
                var a = Current();
                var editor = VBufferEditor.Create(ref v, a.Length);
                for (int i = 0; i < a.Length; i++)
                {
                    editor.Values[i] = a[i].Text.AsMemory();
                }
                v = editor.Commit();
            };
            return answers;
        }
        ValueGetter<VBuffer<float>> scores = (ref VBuffer<float> v) =>
        {
            var a = Current();
            var editor = VBufferEditor.Create(ref v, a.Length);
            for (int i = 0; i < a.Length; i++)
            {
                editor.Values[i] = a[i].Score;
            }
            v = editor.Commit();
        };
        return scores;
    }
}

/// <summary>The lazy output of a question-answering model's <c>Transform</c>: input columns pass through; the answer and
/// score columns are computed row by row (each row's windows in one or more forward passes) when asked for.</summary>
internal sealed class QuestionAnswerDataView : IDataView
{
    private readonly QuestionAnswerTransformerBase _parent;
    private readonly IDataView _input;

    public QuestionAnswerDataView(QuestionAnswerTransformerBase parent, IDataView input)
    {
        _parent = parent;
        _input = input;
        Schema = parent.GetOutputSchema(input.Schema);
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var active = new bool[Schema.Count];
        foreach (var c in columnsNeeded)
        {
            active[c.Index] = true;
        }
        int n = _input.Schema.Count;
        bool scoring = active.Skip(n).Any(a => a);
        var needed = _input.Schema.Where(c => active[c.Index]);
        if (scoring)
        {
            needed = needed.Concat(_parent.InputColumns(_input.Schema)).Distinct();
        }
        var cursor = _input.GetRowCursor(needed);
        return new Cursor(this, cursor, active, scoring ? new QuestionAnswerRowCache(_parent, cursor) : null);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly QuestionAnswerDataView _view;
        private readonly DataViewRowCursor _input;
        private readonly bool[] _active;
        private readonly QuestionAnswerRowCache? _cache;

        public Cursor(QuestionAnswerDataView view, DataViewRowCursor input, bool[] active, QuestionAnswerRowCache? cache)
        {
            _view = view;
            _input = input;
            _active = active;
            _cache = cache;
        }

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override bool MoveNext() => _input.MoveNext();

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            QuestionAnswerRowMapper.Getter<TValue>(column, _active, _input, _view._input.Schema.Count, _cache);

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

/// <summary>Row-by-row question answering for <c>PredictionEngine</c>.</summary>
internal sealed class QuestionAnswerRowMapper : IRowToRowMapper
{
    private readonly QuestionAnswerTransformerBase _parent;

    public QuestionAnswerRowMapper(QuestionAnswerTransformerBase parent, DataViewSchema inputSchema)
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
            result.AddRange(_parent.InputColumns(InputSchema));
        }
        return result.Distinct();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns)
    {
        var active = new bool[OutputSchema.Count];
        foreach (var c in activeColumns)
        {
            active[c.Index] = true;
        }
        var cache = active.Skip(InputSchema.Count).Any(a => a) ? new QuestionAnswerRowCache(_parent, input) : null;
        return new Row(this, input, active, cache);
    }

    /// <summary>A getter of an input column (passed through) or an output column (from the row's answers).</summary>
    internal static ValueGetter<TValue> Getter<TValue>(DataViewSchema.Column column, bool[] active, DataViewRow input, int inputCount,
        QuestionAnswerRowCache? cache)
    {
        if (!active[column.Index])
        {
            throw new InvalidOperationException($"Column '{column.Name}' is not active in this cursor.");
        }
        if (column.Index < inputCount)
        {
            return input.GetGetter<TValue>(input.Schema[column.Index]);
        }
        return cache!.Getter(column.Index - inputCount) as ValueGetter<TValue>
            ?? throw new InvalidOperationException($"Column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}.");
    }

    private sealed class Row : DataViewRow
    {
        private readonly QuestionAnswerRowMapper _mapper;
        private readonly DataViewRow _input;
        private readonly bool[] _active;
        private readonly QuestionAnswerRowCache? _cache;

        public Row(QuestionAnswerRowMapper mapper, DataViewRow input, bool[] active, QuestionAnswerRowCache? cache)
        {
            _mapper = mapper;
            _input = input;
            _active = active;
            _cache = cache;
        }

        public override DataViewSchema Schema => _mapper.OutputSchema;

        public override long Position => _input.Position;

        public override long Batch => _input.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _active[column.Index];

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) =>
            Getter<TValue>(column, _active, _input, _mapper.InputSchema.Count, _cache);
    }
}
