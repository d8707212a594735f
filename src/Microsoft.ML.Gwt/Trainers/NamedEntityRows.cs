using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The rows of named-entity-recognition data: each row's sentence and its tags (a vector of keys, one per
/// whitespace-separated word), read once and held in memory (<see cref="TextExample.Tags"/>), with the count of each tag,
/// the SHA-256 of the rows in order (a checkpoint's fingerprint) and the vocabulary counts of a from-scratch model.
/// </summary>
internal static class NamedEntityRows
{
    /// <summary>Checks that <paramref name="name"/> is a vector of <c>Key&lt;UInt32&gt;</c> with key values.</summary>
    /// <exception cref="ArgumentOutOfRangeException">It is missing or of another type; the message names it.</exception>
    public static DataViewSchema.Column CheckTagColumn(DataViewSchema schema, string name)
    {
        var column = TextColumns.Find(schema, name, "label");
        if (column.Type is not VectorDataViewType { ItemType: KeyDataViewType key } || key.RawType != typeof(uint))
        {
            throw new ArgumentOutOfRangeException(name,
                $"Schema mismatch for label column '{name}': expected a vector of Key<UInt32> (one tag per whitespace-separated word), got {column.Type}. " +
                $"Map a vector of tag strings with mlContext.Transforms.Conversion.MapValueToKey(\"{name}\") first.");
        }
        if (LabelKeys.FromColumn(column) is null)
        {
            throw new ArgumentOutOfRangeException(name, $"Label column '{name}' has no key values (the tag names); map the tags with MapValueToKey.");
        }
        return column;
    }

    /// <summary>Reads every row. A row whose tag count differs from its word count, or with a missing tag (key 0), is
    /// an error naming the column and the row.</summary>
    /// <param name="data">The data.</param>
    /// <param name="label">The tag column.</param>
    /// <param name="sentence">The text column.</param>
    /// <param name="role">"training" or "validation" (for messages).</param>
    /// <param name="hash">Whether to hash the rows.</param>
    /// <param name="vocabulary">A from-scratch model's vocabulary counter (fed with the first <paramref name="vocabularyRows"/> rows), or null.</param>
    /// <param name="vocabularyRows">Rows that feed the vocabulary.</param>
    /// <param name="tagCounts">The count of each tag, indexed by 0-based key (grown as needed).</param>
    public static TextDataScan Read(IDataView data, string label, string sentence, string role, bool hash,
        FittedTiktokenTokenizer.VocabularyCounter? vocabulary, long vocabularyRows, List<long> tagCounts)
    {
        var schema = data.Schema;
        var rows = new List<TextExample>();
        var labels = new HashSet<int>();
        using var sha = hash ? IncrementalHash.CreateHash(HashAlgorithmName.SHA256) : null;
        using var cursor = data.GetRowCursor(new[] { schema[label], schema[sentence] });
        var gt = cursor.GetGetter<ReadOnlyMemory<char>>(schema[sentence]);
        var gl = cursor.GetGetter<VBuffer<uint>>(schema[label]);
        ReadOnlyMemory<char> text = default;
        VBuffer<uint> keys = default;
        long row = 0;
        while (cursor.MoveNext())
        {
            gt(ref text);
            gl(ref keys);
            string s = text.ToString();
            var words = WordAlignment.Words(s);
            if (words.Length != keys.Length)
            {
                throw new ArgumentException(
                    $"Row {row} of the {role} data has {words.Length} whitespace-separated word(s) in column '{sentence}' but {keys.Length} tag(s) in label column '{label}'; " +
                    "each word needs exactly one tag.", role == "training" ? "input" : "ValidationSet");
            }
            var tags = new int[keys.Length];
            int i = 0;
            foreach (var key in keys.DenseValues())
            {
                if (key == 0)
                {
                    throw new ArgumentException(
                        $"Row {row} of the {role} data has a missing tag (key 0, a value the key mapping did not know) at word {i} in label column '{label}'.",
                        role == "training" ? "input" : "ValidationSet");
                }
                int tag = (int)key - 1;
                tags[i++] = tag;
                labels.Add(tag);
                while (tagCounts.Count <= tag)
                {
                    tagCounts.Add(0);
                }
                tagCounts[tag]++;
            }
            if (sha is not null)
            {
                Hash(sha, s, tags);
            }
            if (row < vocabularyRows)
            {
                vocabulary?.Add(s);
            }
            rows.Add(new TextExample(s, null, 0) { Tags = tags });
            row++;
        }
        return TextDataScan.FromRows(rows, 0, labels, sha is null ? null : Convert.ToHexString(sha.GetHashAndReset()));
    }

    private static void Hash(IncrementalHash sha, string text, int[] tags)
    {
        var bytes = Encoding.UTF8.GetBytes(text);
        sha.AppendData(BitConverter.GetBytes(bytes.Length));
        sha.AppendData(bytes);
        sha.AppendData(BitConverter.GetBytes(tags.Length));
        foreach (int t in tags)
        {
            sha.AppendData(BitConverter.GetBytes(t));
        }
    }
}
