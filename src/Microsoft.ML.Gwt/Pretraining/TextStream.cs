using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>The texts of one column of an <see cref="IDataView"/>, read through a cursor each time they are enumerated
/// (one cursor per pass; nothing is kept between passes).</summary>
internal sealed class TextStream : IEnumerable<string>
{
    private readonly IDataView _data;
    private readonly DataViewSchema.Column _column;

    public TextStream(IDataView data, string columnName, string role)
    {
        _data = data;
        var column = data.Schema.GetColumnOrNull(columnName)
            ?? throw new ArgumentOutOfRangeException(columnName, $"Could not find {role} column '{columnName}'. The data has: {string.Join(", ", data.Schema.Select(c => c.Name))}.");
        if (column.Type is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(columnName, $"Schema mismatch for {role} column '{columnName}': expected String, got {column.Type}.");
        }
        _column = column;
    }

    public IEnumerator<string> GetEnumerator()
    {
        using var cursor = _data.GetRowCursor(new[] { _column });
        var getter = cursor.GetGetter<ReadOnlyMemory<char>>(_column);
        ReadOnlyMemory<char> value = default;
        while (cursor.MoveNext())
        {
            getter(ref value);
            yield return value.ToString();
        }
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
}
