using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>One labelled (or unlabelled) example read from an <see cref="IDataView"/>.</summary>
/// <param name="First">The first text.</param>
/// <param name="Second">The second text, when the data has one.</param>
/// <param name="Label">A key label's 0-based key; -1 when the label is missing or there is none. For a float label
/// (regression): 0, or -1 when the value is missing (NaN).</param>
public readonly record struct TextExample(string First, string? Second, int Label)
{
    /// <summary>The value of a float label (regression); NaN when missing, 0 for a key label.</summary>
    public float Target { get; init; }

    /// <summary>A token classifier's label: one 0-based tag key per word of <see cref="First"/> (split at whitespace);
    /// null for other tasks.</summary>
    public int[]? Tags { get; init; }
}

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

    /// <summary>The regression label column named <paramref name="name"/>, which must be a <c>Single</c> scalar.</summary>
    /// <exception cref="ArgumentOutOfRangeException">No such column, or another type; the message names it and says how to convert it.</exception>
    public static DataViewSchema.Column CheckFloatLabel(DataViewSchema schema, string name)
    {
        var column = Find(schema, name, "label");
        if (column.Type != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(name,
                $"Schema mismatch for label column '{name}': expected Single, got {column.Type}. Convert it with mlContext.Transforms.Conversion.ConvertType(\"{name}\", outputKind: DataKind.Single) first.");
        }
        return column;
    }

    /// <summary>Whether <paramref name="column"/> is a float (regression) label; otherwise it is a key label.</summary>
    public static bool IsFloatLabel(DataViewSchema.Column column) => column.Type == NumberDataViewType.Single;

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
    /// when the enumeration ends or its enumerator is disposed. A <c>Single</c> label column is read as a regression label
    /// (<see cref="TextExample.Target"/>; NaN is a missing label).</summary>
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
        bool floatLabel = labelName is not null && IsFloatLabel(schema[labelName]);
        var gl = labelName is null || floatLabel ? null : cursor.GetGetter<uint>(schema[labelName]);
        var gf = floatLabel ? cursor.GetGetter<float>(schema[labelName!]) : null;
        ReadOnlyMemory<char> a = default, b = default;
        uint label = 0;
        float target = 0;
        while (cursor.MoveNext())
        {
            g1(ref a);
            g2?.Invoke(ref b);
            gl?.Invoke(ref label);
            gf?.Invoke(ref target);
            bool missing = gl is not null ? label == 0 : gf is not null && float.IsNaN(target);
            if (missing && skipMissingLabels)
            {
                if (skipped is not null)
                {
                    skipped[0]++;
                }
                continue;
            }
            int key = gf is not null ? (missing ? -1 : 0) : gl is null ? -1 : (int)label - 1;
            yield return new TextExample(a.ToString(), g2 is null ? null : b.ToString(), key) { Target = gf is null ? 0 : target };
        }
    }
}
