using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The one pass over a text table that <c>Fit</c> makes before training: counts the labelled rows (and those skipped for
/// a missing label) and collects the distinct labels (for a float regression label, its range; NaN is missing); when asked, also hashes the rows in order (SHA-256 of label and
/// texts: the data part of a checkpoint's fingerprint), feeds the vocabulary counter of a from-scratch model with the
/// first <c>vocabularyRows</c> labelled rows, and keeps
/// the rows in memory when there are at most <c>maxCachedRows</c> of them. A row's texts are read only for those uses,
/// so with a pretrained model, no checkpoint folder and more rows than the cache holds, the pass reads labels only.
/// Memory: the label set, the hash state, the vocabulary counts and the cache; nothing else grows with the row count.
/// <see cref="WithoutReading"/> replaces the pass when the data reports its row count and nothing else needs every row.
/// </summary>
internal sealed class TextDataScan
{
    private TextDataScan(long rows, long skipped, IReadOnlyCollection<int>? labels, string? sha256, List<TextExample>? cache,
        (float Min, float Max)? targetRange = null)
    {
        TargetRange = targetRange;
        Rows = rows;
        Skipped = skipped;
        Labels = labels;
        Sha256 = sha256;
        Cache = cache;
    }

    /// <summary>The findings for rows a trainer read itself (question answering's): their count and, when hashed, the
    /// SHA-256 of their content in order.</summary>
    public static TextDataScan OfRows(long rows, long skipped, string? sha256) => new(rows, skipped, Array.Empty<int>(), sha256, null);

    /// <summary>Labelled rows (the rows training uses).</summary>
    public long Rows { get; }

    /// <summary>Rows skipped for a missing label.</summary>
    public long Skipped { get; }

    /// <summary>The distinct labels (0-based); null when the rows were not read (<see cref="WithoutReading"/>).</summary>
    public IReadOnlyCollection<int>? Labels { get; }

    /// <summary>The smallest and largest value of a float (regression) label over the labelled rows; null for a key label
    /// or when the rows were not read.</summary>
    public (float Min, float Max)? TargetRange { get; }

    /// <summary>Whether <see cref="Rows"/> is the count the data reported, taken without reading the rows; the
    /// training stream must then find every row labelled.</summary>
    public bool RowCountReported => Labels is null;

    /// <summary>SHA-256 (hex) of the rows in order, when the scan hashed them.</summary>
    public string? Sha256 { get; }

    /// <summary>The rows, when there were at most the cache limit of them; else null (each epoch streams them).</summary>
    public List<TextExample>? Cache { get; }

    /// <summary>The scan's findings without a pass over the rows, when the pass is not needed: the data reports its row
    /// count (<see cref="IDataView.GetRowCount"/>), has more rows than the cache holds, and no checkpoint needs its hash.
    /// The reported count is taken as the labelled rows (a row with a missing label then stops training with an
    /// exception), and a from-scratch model's vocabulary is counted from the first <paramref name="vocabularyRows"/>
    /// rows through a cursor that stops there. Null when a pass is needed.</summary>
    public static TextDataScan? WithoutReading(IDataView data, string labelName, string first, string? second, int maxCachedRows, bool hash,
        FittedTiktokenTokenizer.VocabularyCounter? vocabulary, long vocabularyRows)
    {
        if (hash || data.GetRowCount() is not long count || count <= maxCachedRows)
        {
            return null;
        }
        if (vocabulary is not null)
        {
            long read = 0;
            using var rows = TextColumns.Stream(data, labelName, first, second, skipMissingLabels: true).GetEnumerator();
            while (read < vocabularyRows && rows.MoveNext())
            {
                vocabulary.Add(rows.Current.First);
                vocabulary.Add(rows.Current.Second);
                read++;
            }
        }
        return new TextDataScan(count, 0, null, null, null);
    }

    /// <summary>The findings of a scan made elsewhere (a token classifier's, whose labels are vectors): the rows, all held
    /// in memory, the distinct labels and the hash.</summary>
    public static TextDataScan FromRows(List<TextExample> rows, long skipped, IReadOnlyCollection<int> labels, string? sha256) =>
        new(rows.Count, skipped, labels, sha256, rows);

    /// <summary>Scans <paramref name="data"/> through one cursor.</summary>
    public static TextDataScan Run(IDataView data, string labelName, string first, string? second, int maxCachedRows, bool hash,
        FittedTiktokenTokenizer.VocabularyCounter? vocabulary, long vocabularyRows = long.MaxValue)
    {
        var schema = data.Schema;
        var cols = new List<DataViewSchema.Column> { schema[labelName], schema[first] };
        if (second is not null)
        {
            cols.Add(schema[second]);
        }
        long rows = 0, skipped = 0;
        var labels = new HashSet<int>();
        var cache = maxCachedRows > 0 ? new List<TextExample>() : null;
        using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        using var cursor = data.GetRowCursor(cols);
        var g1 = cursor.GetGetter<ReadOnlyMemory<char>>(schema[first]);
        var g2 = second is null ? null : cursor.GetGetter<ReadOnlyMemory<char>>(schema[second]);
        bool floatLabel = TextColumns.IsFloatLabel(schema[labelName]);
        var gl = floatLabel ? null : cursor.GetGetter<uint>(schema[labelName]);
        var gf = floatLabel ? cursor.GetGetter<float>(schema[labelName]) : null;
        ReadOnlyMemory<char> a = default, b = default;
        uint key = 0;
        float target = 0, min = float.PositiveInfinity, max = float.NegativeInfinity;
        while (cursor.MoveNext())
        {
            gl?.Invoke(ref key);
            gf?.Invoke(ref target);
            if (gf is null ? key == 0 : float.IsNaN(target))
            {
                skipped++;
                continue;
            }
            rows++;
            if (gf is null)
            {
                labels.Add((int)key - 1);
            }
            else
            {
                key = 1;
                min = Math.Min(min, target);
                max = Math.Max(max, target);
            }
            if (cache is not null && cache.Count == maxCachedRows)
            {
                cache = null; // more rows than the cache holds: streamed
            }
            var words = rows <= vocabularyRows ? vocabulary : null;
            if (sha is null && words is null && cache is null)
            {
                continue;
            }
            g1(ref a);
            g2?.Invoke(ref b);
            var row = new TextExample(a.ToString(), g2 is null ? null : b.ToString(), (int)key - 1) { Target = gf is null ? 0 : target };
            if (sha is not null)
            {
                Hash(sha, row, floatLabel);
            }
            words?.Add(row.First);
            words?.Add(row.Second);
            cache?.Add(row);
        }
        return new TextDataScan(rows, skipped, labels, sha is null ? null : Convert.ToHexString(sha.GetHashAndReset()), cache,
            floatLabel && rows > 0 ? (min, max) : null);
    }

    /// <summary>Hashes a row: its key label (and, for a float label, the value's bits), then its texts.</summary>
    private static void Hash(IncrementalHash sha, TextExample row, bool floatLabel)
    {
        Span<byte> four = stackalloc byte[4];
        void Int(int v, Span<byte> buffer)
        {
            System.Buffers.Binary.BinaryPrimitives.WriteInt32LittleEndian(buffer, v);
            sha.AppendData(buffer);
        }
        Int(row.Label, four);
        if (floatLabel)
        {
            Int(BitConverter.SingleToInt32Bits(row.Target), four);
        }
        foreach (var text in new[] { row.First, row.Second })
        {
            if (text is null)
            {
                Int(-1, four);
                continue;
            }
            var bytes = Encoding.UTF8.GetBytes(text);
            Int(bytes.Length, four);
            sha.AppendData(bytes);
        }
    }
}
