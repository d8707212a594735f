using Microsoft.ML;
using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Tests.Training;

/// <summary>An <see cref="IDataView"/> wrapper that counts the cursors opened on it and the rows they read, and the
/// shuffling cursors requested (it offers shuffling when <c>canShuffle</c>, passing the generator on only to a source
/// that can shuffle). It reports no row count unless <c>reportRowCount</c>, then the inner view's.</summary>
internal sealed class CountingDataView : IDataView
{
    private readonly IDataView _inner;
    private readonly bool _canShuffle;
    private readonly bool _reportRowCount;

    public CountingDataView(IDataView inner, bool canShuffle = false, bool reportRowCount = false)
    {
        _inner = inner;
        _canShuffle = canShuffle;
        _reportRowCount = reportRowCount;
    }

    /// <summary>Cursors opened.</summary>
    public int Cursors { get; private set; }

    /// <summary>Rows read (MoveNext returning true) by all cursors.</summary>
    public long RowsRead;

    /// <summary>Rows read by the most recently opened cursor.</summary>
    public long RowsReadByLastCursor;

    /// <summary>The managed thread ids that read rows (called MoveNext).</summary>
    public readonly System.Collections.Concurrent.ConcurrentDictionary<int, bool> ReaderThreads = new();

    /// <summary>Cursors disposed.</summary>
    public int DisposedCursors;

    /// <summary>Shuffling cursors requested (a Random was passed and honoured).</summary>
    public int ShufflingCursors { get; private set; }

    public bool CanShuffle => _canShuffle;

    public DataViewSchema Schema => _inner.Schema;

    public long? GetRowCount() => _reportRowCount ? _inner.GetRowCount() : null;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        Cursors++;
        RowsReadByLastCursor = 0;
        if (rand is not null && _canShuffle)
        {
            ShufflingCursors++;
        }
        return new Cursor(_inner.GetRowCursor(columnsNeeded, _canShuffle && _inner.CanShuffle ? rand : null), this);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly DataViewRowCursor _inner;
        private readonly CountingDataView _owner;

        public Cursor(DataViewRowCursor inner, CountingDataView owner)
        {
            _inner = inner;
            _owner = owner;
        }

        public override DataViewSchema Schema => _inner.Schema;

        public override long Position => _inner.Position;

        public override long Batch => _inner.Batch;

        public override ValueGetter<DataViewRowId> GetIdGetter() => _inner.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) => _inner.IsColumnActive(column);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => _inner.GetGetter<TValue>(column);

        public override bool MoveNext()
        {
            if (!_inner.MoveNext())
            {
                return false;
            }
            Interlocked.Increment(ref _owner.RowsRead);
            _owner.ReaderThreads.TryAdd(Environment.CurrentManagedThreadId, true);
            Interlocked.Increment(ref _owner.RowsReadByLastCursor);
            return true;
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _inner.Dispose();
                Interlocked.Increment(ref _owner.DisposedCursors);
            }
            base.Dispose(disposing);
        }
    }
}
