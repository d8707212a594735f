using System.Security.Cryptography;
using System.Text;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.QuestionAnswering;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>One question-answering row: the context, the question, and (training) the answer's text and its
/// character offset in the context.</summary>
internal sealed record QuestionAnswerRow(string Context, string Question, string Answer, int AnswerIndex);

/// <summary>A context window with its answer positions, as training uses it.</summary>
internal readonly record struct QuestionAnswerExample(EncodedText Text, int StartPosition, int EndPosition);

/// <summary>Reading question-answering rows from a data view (each error names its column) and turning them into
/// training windows.</summary>
internal static class QuestionAnswerData
{
    /// <summary>Checks the four columns a training set needs: context, question and answer text, and the answer's
    /// character offset (<c>Int32</c>, as ML.NET's <c>QATrainer</c> reads it).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or has another type; the message names it.</exception>
    public static void CheckColumns(DataViewSchema schema, GwtQuestionAnswerTrainer.Options o)
    {
        TextColumns.CheckText(schema, o.ContextColumnName, "context");
        TextColumns.CheckText(schema, o.QuestionColumnName, "question");
        TextColumns.CheckText(schema, o.TrainingAnswerColumnName, "training answer");
        var index = TextColumns.Find(schema, o.AnswerIndexColumnName, "answer index");
        if (index.Type != NumberDataViewType.Int32)
        {
            throw new ArgumentOutOfRangeException(o.AnswerIndexColumnName,
                $"Schema mismatch for answer index column '{o.AnswerIndexColumnName}': expected Int32 (the answer's character offset in the context), got {index.Type}.");
        }
    }

    /// <summary>Every row of <paramref name="data"/> (null texts read as empty).</summary>
    public static List<QuestionAnswerRow> Read(IDataView data, GwtQuestionAnswerTrainer.Options o)
    {
        var s = data.Schema;
        var columns = new[] { s[o.ContextColumnName], s[o.QuestionColumnName], s[o.TrainingAnswerColumnName], s[o.AnswerIndexColumnName] };
        using var cursor = data.GetRowCursor(columns.Distinct());
        var context = cursor.GetGetter<ReadOnlyMemory<char>>(columns[0]);
        var question = cursor.GetGetter<ReadOnlyMemory<char>>(columns[1]);
        var answer = cursor.GetGetter<ReadOnlyMemory<char>>(columns[2]);
        var index = cursor.GetGetter<int>(columns[3]);
        var rows = new List<QuestionAnswerRow>();
        ReadOnlyMemory<char> c = default, q = default, a = default;
        int i = 0;
        while (cursor.MoveNext())
        {
            context(ref c);
            question(ref q);
            answer(ref a);
            index(ref i);
            rows.Add(new QuestionAnswerRow(c.ToString(), q.ToString(), a.ToString(), i));
        }
        return rows;
    }

    /// <summary>The answer's first and last context word, or null when the answer is empty or is not the context's text
    /// at its index (such rows are skipped, as Hugging Face's and ML.NET's trainers skip them).</summary>
    public static (int First, int Last)? AnswerWords(ContextWords words, QuestionAnswerRow row)
    {
        var answer = row.Answer;
        if (answer.Length == 0 || row.AnswerIndex < 0 || row.AnswerIndex + answer.Length > row.Context.Length
            || string.CompareOrdinal(row.Context, row.AnswerIndex, answer, 0, answer.Length) != 0)
        {
            return null;
        }
        int first = words.WordOfChar(row.AnswerIndex);
        int last = words.WordOfChar(row.AnswerIndex + answer.Length - 1);
        // An answer beginning with whitespace starts at the next word.
        if (first < 0 || words.Ends[first] <= row.AnswerIndex)
        {
            first++;
        }
        return first <= last && first < words.Words.Count ? (first, last) : null;
    }

    /// <summary>The training windows of <paramref name="rows"/> and how many rows were skipped for an answer that is not
    /// at its index.</summary>
    public static (List<QuestionAnswerExample> Examples, int Skipped) Windows(IEnumerable<QuestionAnswerRow> rows, TextTokenizer tokenizer,
        QuestionAnswerLayout layout)
    {
        var examples = new List<QuestionAnswerExample>();
        int skipped = 0;
        foreach (var row in rows)
        {
            var words = ContextWords.Split(row.Context);
            if (AnswerWords(words, row) is not { } answer)
            {
                skipped++;
                continue;
            }
            foreach (var w in QuestionAnswerWindows.Encode(tokenizer, words, row.Question, layout, answer))
            {
                examples.Add(new QuestionAnswerExample(w.Text, w.StartPosition, w.EndPosition));
            }
        }
        return (examples, skipped);
    }

    /// <summary>SHA-256 (hex) of the rows in order: the data part of a checkpoint's fingerprint.</summary>
    public static string Sha256(IEnumerable<QuestionAnswerRow> rows)
    {
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var r in rows)
        {
            foreach (var text in new[] { r.Context, r.Question, r.Answer })
            {
                sha.AppendData(BitConverter.GetBytes(text.Length));
                sha.AppendData(Encoding.UTF8.GetBytes(text));
            }
            sha.AppendData(BitConverter.GetBytes(r.AnswerIndex));
        }
        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
