using Microsoft.ML;
using Microsoft.ML.Data;

namespace Streaming;

/// <summary>
/// A lazily generated text table: row i (Label: Key&lt;UInt32&gt; of 2, Text: String) is computed from i when a cursor
/// reaches it and its getter is called; nothing is stored. Texts are 4 to 60 words from a 200-word vocabulary; the label
/// is drawn from a hash of i (so reading only labels costs no text), and a label-2 text holds the marker word "spam"
/// at a random position.
/// </summary>
internal sealed class SyntheticTextDataView : IDataView
{
    private static readonly string[] Vocabulary = Enumerable.Range(0, 200).Select(i => "w" + ((i * 7919) % 1000).ToString("D3")).ToArray();
    private readonly long _rows;
    private readonly bool _reportRowCount;

    /// <param name="rows">Rows in the table.</param>
    /// <param name="reportRowCount">Whether <see cref="GetRowCount"/> reports them (Fit then skips its counting scan).</param>
    public SyntheticTextDataView(long rows, bool reportRowCount = true)
    {
        _rows = rows;
        _reportRowCount = reportRowCount;
        var b = new DataViewSchema.Builder();
        b.AddColumn("Label", new KeyDataViewType(typeof(uint), 2));
        b.AddColumn("Text", TextDataViewType.Instance);
        Schema = b.ToSchema();
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _reportRowCount ? _rows : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(this);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => new[] { GetRowCursor(columnsNeeded) };

    internal static uint Label(long i) => (uint)((unchecked((ulong)i * 11400714819323198485UL) >> 40) & 1) + 1;

    internal static string Text(long i)
    {
        var rng = new Random(unchecked((int)(i * 2654435761L)));
        int words = 4 + rng.Next(57);
        var chosen = new string[words];
        for (int w = 0; w < words; w++)
        {
            chosen[w] = Vocabulary[rng.Next(Vocabulary.Length)];
        }
        if (Label(i) == 2)
        {
            chosen[rng.Next(words)] = "spam";
        }
        return string.Join(' ', chosen);
    }

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly SyntheticTextDataView _view;
        private long _position = -1;

        public Cursor(SyntheticTextDataView view) => _view = view;

        public override DataViewSchema Schema => _view.Schema;

        public override long Position => _position;

        public override long Batch => 0;

        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = new DataViewRowId((ulong)_position, 0);

        public override bool IsColumnActive(DataViewSchema.Column column) => true;

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index == 0)
            {
                ValueGetter<uint> label = (ref uint v) => v = Label(_position);
                return (ValueGetter<TValue>)(Delegate)label;
            }
            ValueGetter<ReadOnlyMemory<char>> text = (ref ReadOnlyMemory<char> v) => v = Text(_position).AsMemory();
            return (ValueGetter<TValue>)(Delegate)text;
        }

        public override bool MoveNext()
        {
            if (_position + 1 >= _view._rows)
            {
                return false;
            }
            _position++;
            return true;
        }
    }
}
