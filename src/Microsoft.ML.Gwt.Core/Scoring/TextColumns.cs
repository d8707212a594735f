using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>One labelled (or unlabelled) example read from an <see cref="IDataView"/>.</summary>
public readonly record struct TextExample(string First, string? Second, int Label);

/// <summary>Schema checks and row reading shared by training, validation and scoring.</summary>
public static class TextColumns
{
    /// <summary>The column named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column; the message names it, its <paramref name="role"/> and the columns the data has.</exception>
    public static DataViewSchema.Column Find(DataViewSchema schema, string name, string role)
    {
        var column = schema.GetColumnOrNull(name);
        if (column is null)
        {
            throw new ArgumentOutOfRangeException(name, $"Could not find {role} column '{name}'. The data has: {string.Join(", ", schema.Select(c => c.Name))}.");
        }
        return column.Value;
    }

    /// <summary>The text column named <paramref name="name"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or it is not text; the message names it and its type.</exception>
    public static DataViewSchema.Column CheckText(DataViewSchema schema, string name, string role)
    {
        var column = Find(schema, name, role);
        if (column.Type is not TextDataViewType)
        {
            throw new ArgumentOutOfRangeException(name, $"Schema mismatch for {role} column '{name}': expected String, got {column.Type}.");
        }
        return column;
    }

    /// <summary>The label column named <paramref name="name"/>, which must be a <c>Key&lt;UInt32&gt;</c>.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or another type; the message names it and says how to map it.</exception>
    public static DataViewSchema.Column CheckLabel(DataViewSchema schema, string name)
    {
        var column = Find(schema, name, "label");
        if (column.Type is not KeyDataViewType key || key.RawType != typeof(uint))
        {
            throw new ArgumentOutOfRangeException(name,
                $"Schema mismatch for label column '{name}': expected Key<UInt32>, got {column.Type}. Map it with mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") first.");
        }
        return column;
    }

    /// <summary>Reads all rows into a list (see <see cref="Stream"/>).</summary>
    public static List<TextExample> Read(IDataView data, string? labelName, string first, string? second, bool skipMissingLabels, out long skipped)
    {
        var counter = new long[1];
        var rows = Stream(data, labelName, first, second, skipMissingLabels, counter).ToList();
        skipped = counter[0];
        return rows;
    }

    /// <summary>Streams the rows through one cursor (a shuffling one when <paramref name="shuffle"/> is given and the
    /// data can shuffle). Rows whose label is missing (key 0) are skipped and counted in <paramref name="skipped"/>[0]
    /// when <paramref name="skipMissingLabels"/> is true; with no label column every label is -1. The cursor is closed
    /// when the enumeration ends or its enumerator is disposed.</summary>
    public static IEnumerable<TextExample> Stream(IDataView data, string? labelName, string first, string? second, bool skipMissingLabels,
        long[]? skipped = null, Random? shuffle = null)
    {
        var schema = data.Schema;
        var cols = new List<DataViewSchema.Column> { schema[first] };
        if (second is not null)
        {
            cols.Add(schema[second]);
        }
        if (labelName is not null)
        {
            cols.Add(schema[labelName]);
        }
        using var cursor = data.GetRowCursor(cols, shuffle is not null && data.CanShuffle ? shuffle : null);
        var g1 = cursor.GetGetter<ReadOnlyMemory<char>>(schema[first]);
        var g2 = second is null ? null : cursor.GetGetter<ReadOnlyMemory<char>>(schema[second]);
        var gl = labelName is null ? null : cursor.GetGetter<uint>(schema[labelName]);
        ReadOnlyMemory<char> a = default, b = default;
        uint label = 0;
        while (cursor.MoveNext())
        {
            g1(ref a);
            g2?.Invoke(ref b);
            gl?.Invoke(ref label);
            if (gl is not null && label == 0 && skipMissingLabels)
            {
                if (skipped is not null)
                {
                    skipped[0]++;
                }
                continue;
            }
            yield return new TextExample(a.ToString(), g2 is null ? null : b.ToString(), gl is null ? -1 : (int)label - 1);
        }
    }
}
