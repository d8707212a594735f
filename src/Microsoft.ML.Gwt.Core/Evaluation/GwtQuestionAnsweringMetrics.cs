using System.Text;
using System.Text.RegularExpressions;
using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Core.Evaluation;

/// <summary>
/// Extractive question answering's metrics, counted as SQuAD v1.1's official <c>evaluate-v1.1.py</c> counts them: each
/// answer is normalized (lower case, ASCII punctuation removed, the articles a/an/the removed, whitespace collapsed);
/// exact match is 1 when the normalized prediction equals a normalized gold answer; F1 is the harmonic mean of the
/// token-overlap precision and recall (tokens: the normalized text split on whitespace, counted as a multiset); each
/// row takes the best over its gold answers, and both are averaged over the rows and given in percent, as the script
/// prints them.
/// </summary>
/// <param name="ExactMatch">Exact match in percent (0–100).</param>
/// <param name="F1">Token-overlap F1 in percent (0–100).</param>
/// <param name="Rows">Rows counted.</param>
public sealed record GwtQuestionAnsweringMetrics(double ExactMatch, double F1, long Rows)
{
    private static readonly Regex Articles = new(@"\b(a|an|the)\b", RegexOptions.CultureInvariant);

    /// <summary>The metrics of each row's <paramref name="predictions"/> (its best answer; null or empty: no answer)
    /// against its gold <paramref name="answers"/> (at least one per row).</summary>
    /// <exception cref="ArgumentException">The lists have different lengths, a row has no gold answer, or there are no rows.</exception>
    public static GwtQuestionAnsweringMetrics Compute(IReadOnlyList<string?> predictions, IReadOnlyList<IReadOnlyList<string>> answers)
    {
        ArgumentNullException.ThrowIfNull(predictions);
        ArgumentNullException.ThrowIfNull(answers);
        if (predictions.Count != answers.Count)
        {
            throw new ArgumentException($"{nameof(predictions)} has {predictions.Count} rows but {nameof(answers)} has {answers.Count}.", nameof(predictions));
        }
        if (predictions.Count == 0)
        {
            throw new ArgumentException("There are no rows to evaluate.", nameof(predictions));
        }
        double exact = 0, f1 = 0;
        for (int i = 0; i < predictions.Count; i++)
        {
            if (answers[i] is not { Count: > 0 } gold)
            {
                throw new ArgumentException($"Row {i} has no gold answer.", nameof(answers));
            }
            string prediction = predictions[i] ?? string.Empty;
            exact += gold.Max(g => ExactMatchScore(prediction, g));
            f1 += gold.Max(g => F1Score(prediction, g));
        }
        return new GwtQuestionAnsweringMetrics(100.0 * exact / predictions.Count, 100.0 * f1 / predictions.Count, predictions.Count);
    }

    /// <summary>SQuAD's <c>normalize_answer</c>: lower case, remove ASCII punctuation, remove the articles a/an/the
    /// (whole words), collapse whitespace.</summary>
    public static string NormalizeAnswer(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return string.Empty;
        }
        var lower = text.ToLowerInvariant();
        var noPunctuation = new StringBuilder(lower.Length);
        foreach (char c in lower)
        {
            if (!IsAsciiPunctuation(c))
            {
                noPunctuation.Append(c);
            }
        }
        var noArticles = Articles.Replace(noPunctuation.ToString(), " ");
        return string.Join(' ', Tokens(noArticles));
    }

    /// <summary>SQuAD's <c>exact_match_score</c>: 1 when the normalized texts are equal, else 0.</summary>
    public static double ExactMatchScore(string? prediction, string? gold) =>
        NormalizeAnswer(prediction) == NormalizeAnswer(gold) ? 1 : 0;

    /// <summary>SQuAD's <c>f1_score</c>: token-overlap F1 of the normalized texts (0 when they share no token).</summary>
    public static double F1Score(string? prediction, string? gold)
    {
        var p = Tokens(NormalizeAnswer(prediction));
        var g = Tokens(NormalizeAnswer(gold));
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var t in g)
        {
            counts[t] = counts.GetValueOrDefault(t) + 1;
        }
        int same = 0;
        foreach (var t in p)
        {
            if (counts.TryGetValue(t, out int n) && n > 0)
            {
                counts[t] = n - 1;
                same++;
            }
        }
        if (same == 0)
        {
            return 0;
        }
        double precision = (double)same / p.Count;
        double recall = (double)same / g.Count;
        return 2 * precision * recall / (precision + recall);
    }

    /// <summary>Reads a scored data view: the predicted answers (a vector of text, best first, as the question-answering
    /// transformer writes them, or one text) and the gold answers (one text, or a vector of texts: any may match).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not text; the message names it.</exception>
    public static GwtQuestionAnsweringMetrics Evaluate(IDataView data, string goldColumnName, string predictedColumnName)
    {
        ArgumentNullException.ThrowIfNull(data);
        var gold = TextColumn(data.Schema, goldColumnName, "gold answer");
        var predicted = TextColumn(data.Schema, predictedColumnName, "predicted answer");
        var predictions = new List<string?>();
        var answers = new List<IReadOnlyList<string>>();
        using var cursor = data.GetRowCursor(new[] { gold, predicted }.Distinct());
        var readGold = Reader(cursor, gold);
        var readPredicted = Reader(cursor, predicted);
        while (cursor.MoveNext())
        {
            var p = readPredicted();
            predictions.Add(p.Count == 0 ? null : p[0]);
            answers.Add(readGold());
        }
        return Compute(predictions, answers);
    }

    private static DataViewSchema.Column TextColumn(DataViewSchema schema, string name, string what)
    {
        ArgumentException.ThrowIfNullOrEmpty(name);
        if (schema.GetColumnOrNull(name) is not { } column)
        {
            throw new ArgumentOutOfRangeException(name, $"Could not find {what} column '{name}'.");
        }
        if (column.Type is not TextDataViewType && column.Type is not VectorDataViewType { ItemType: TextDataViewType })
        {
            throw new ArgumentOutOfRangeException(name, $"Schema mismatch for {what} column '{name}': expected String or a vector of String, got {column.Type}.");
        }
        return column;
    }

    private static Func<IReadOnlyList<string>> Reader(DataViewRowCursor cursor, DataViewSchema.Column column)
    {
        if (column.Type is TextDataViewType)
        {
            var getter = cursor.GetGetter<ReadOnlyMemory<char>>(column);
            return () =>
            {
                ReadOnlyMemory<char> v = default;
                getter(ref v);
                return new[] { v.ToString() };
            };
        }
        var vector = cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(column);
        return () =>
        {
            VBuffer<ReadOnlyMemory<char>> v = default;
            vector(ref v);
            return v.DenseValues().Select(m => m.ToString()).ToArray();
        };
    }

    /// <summary>Python's <c>str.split()</c>: runs of whitespace (its set: Unicode whitespace plus U+001C–U+001F)
    /// separate tokens.</summary>
    private static List<string> Tokens(string text)
    {
        var tokens = new List<string>();
        int start = -1;
        for (int i = 0; i <= text.Length; i++)
        {
            bool space = i == text.Length || char.IsWhiteSpace(text[i]) || (text[i] >= '\u001c' && text[i] <= '\u001f');
            if (space)
            {
                if (start >= 0)
                {
                    tokens.Add(text[start..i]);
                    start = -1;
                }
            }
            else if (start < 0)
            {
                start = i;
            }
        }
        return tokens;
    }

    /// <summary>Python's <c>string.punctuation</c>: the 32 ASCII punctuation characters.</summary>
    private static bool IsAsciiPunctuation(char c) => AsciiPunctuation.Contains(c);

    private const string AsciiPunctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~";
}
