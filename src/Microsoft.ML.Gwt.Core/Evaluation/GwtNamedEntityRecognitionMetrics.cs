using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Core.Evaluation;

/// <summary>Precision, recall and F1 of one entity type.</summary>
/// <param name="Precision">Correct / predicted entities of the type (0 when none is predicted).</param>
/// <param name="Recall">Correct / true entities of the type (0 when there is none).</param>
/// <param name="F1">Harmonic mean of the two (0 when both are 0).</param>
/// <param name="Support">True entities of the type.</param>
/// <param name="Predicted">Predicted entities of the type.</param>
/// <param name="Correct">Predicted entities of the type with the same first and last word as a true one.</param>
public sealed record EntityTypeMetrics(double Precision, double Recall, double F1, long Support, long Predicted, long Correct);

/// <summary>
/// Entity-level metrics of a named-entity-recognition model as seqeval's default mode (CoNLL's <c>conlleval</c>) counts
/// them: the sentences' tag sequences are joined with an <c>O</c> between them, their entities found by
/// <see cref="NamedEntitySpans"/> (IOB2 or IOBES, non-strict), and a predicted entity is correct only when a true entity
/// has the same type, first word and last word. Micro-averaged <see cref="Precision"/>, <see cref="Recall"/> and
/// <see cref="F1"/> over all entities, the same per entity type (over the types that are true or predicted), and the token
/// (word) accuracy.
/// </summary>
/// <param name="Precision">Correct / predicted entities (0 when none is predicted).</param>
/// <param name="Recall">Correct / true entities (0 when there is none).</param>
/// <param name="F1">Harmonic mean of precision and recall (0 when both are 0).</param>
/// <param name="TokenAccuracy">Words whose predicted tag equals the true tag / all words.</param>
/// <param name="TrueEntities">Entities in the true tags.</param>
/// <param name="PredictedEntities">Entities in the predicted tags.</param>
/// <param name="CorrectEntities">Predicted entities that are true entities.</param>
/// <param name="PerType">The same per entity type, ordered by type name (ordinal).</param>
/// <param name="Sentences">Sentences (rows) counted.</param>
/// <param name="Words">Words counted.</param>
public sealed record GwtNamedEntityRecognitionMetrics(double Precision, double Recall, double F1, double TokenAccuracy,
    long TrueEntities, long PredictedEntities, long CorrectEntities, IReadOnlyDictionary<string, EntityTypeMetrics> PerType,
    long Sentences, long Words)
{
    /// <summary>The metrics of predicted tag sequences against true ones (one sequence of tags per sentence).</summary>
    /// <exception cref="ArgumentException">The lists, or a sentence's two sequences, have different lengths (the message
    /// names the sentence); there is no word; or a tag is not IOB2/IOBES.</exception>
    public static GwtNamedEntityRecognitionMetrics Compute(IReadOnlyList<IReadOnlyList<string>> truth, IReadOnlyList<IReadOnlyList<string>> predicted)
    {
        ArgumentNullException.ThrowIfNull(truth);
        ArgumentNullException.ThrowIfNull(predicted);
        if (truth.Count != predicted.Count)
        {
            throw new ArgumentException($"{nameof(predicted)} has {predicted.Count} sentences but {nameof(truth)} has {truth.Count}.", nameof(predicted));
        }
        var trueTags = new List<string>();
        var predictedTags = new List<string>();
        long words = 0, equal = 0;
        for (int s = 0; s < truth.Count; s++)
        {
            if (truth[s].Count != predicted[s].Count)
            {
                throw new ArgumentException($"Sentence {s} has {truth[s].Count} true tags but {predicted[s].Count} predicted ones.", nameof(predicted));
            }
            for (int w = 0; w < truth[s].Count; w++)
            {
                equal += truth[s][w] == predicted[s][w] ? 1 : 0;
            }
            words += truth[s].Count;
            trueTags.AddRange(truth[s]);
            trueTags.Add("O");
            predictedTags.AddRange(predicted[s]);
            predictedTags.Add("O");
        }
        if (words == 0)
        {
            throw new ArgumentException("There is no word to evaluate.", nameof(truth));
        }
        var t = NamedEntitySpans.Find(trueTags).ToHashSet();
        var p = NamedEntitySpans.Find(predictedTags).ToHashSet();
        var perType = new SortedDictionary<string, EntityTypeMetrics>(StringComparer.Ordinal);
        foreach (var type in t.Select(e => e.Type).Concat(p.Select(e => e.Type)).Distinct())
        {
            var tt = t.Where(e => e.Type == type).ToHashSet();
            var pp = p.Where(e => e.Type == type).ToList();
            perType[type] = Score(tt.Count, pp.Count, pp.Count(tt.Contains));
        }
        var all = Score(t.Count, p.Count, p.Count(t.Contains));
        return new GwtNamedEntityRecognitionMetrics(all.Precision, all.Recall, all.F1, (double)equal / words, t.Count, p.Count, all.Correct,
            perType, truth.Count, words);
    }

    private static EntityTypeMetrics Score(long support, long predicted, long correct)
    {
        double precision = predicted > 0 ? (double)correct / predicted : 0;
        double recall = support > 0 ? (double)correct / support : 0;
        double f1 = precision + recall > 0 ? 2 * precision * recall / (precision + recall) : 0;
        return new EntityTypeMetrics(precision, recall, f1, support, predicted, correct);
    }

    /// <summary>The metrics of a scored data view: the true tags in <paramref name="labelColumnName"/> and the predicted
    /// ones in <paramref name="predictedLabelColumnName"/>, each a vector of keys (one per word) whose <c>KeyValues</c> are
    /// the tag names (as <c>MapValueToKey</c> makes them and the NER transformers copy them to their output).</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing, not a vector of <c>Key&lt;UInt32&gt;</c>, or
    /// has no text key values; the message names it.</exception>
    /// <exception cref="ArgumentException">A row's two vectors have different lengths (the message names the row and the
    /// columns), a key is missing (0), or a tag is not IOB2/IOBES.</exception>
    public static GwtNamedEntityRecognitionMetrics Evaluate(IDataView data, string labelColumnName = "Label", string predictedLabelColumnName = "PredictedLabel")
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = TagColumn(data.Schema, labelColumnName, "label");
        var predictedColumn = TagColumn(data.Schema, predictedLabelColumnName, "predicted label");
        var labelNames = TagNames(label);
        var predictedNames = TagNames(predictedColumn);
        var truth = new List<IReadOnlyList<string>>();
        var predicted = new List<IReadOnlyList<string>>();
        using var cursor = data.GetRowCursor(new[] { label, predictedColumn });
        var gl = cursor.GetGetter<VBuffer<uint>>(label);
        var gp = cursor.GetGetter<VBuffer<uint>>(predictedColumn);
        VBuffer<uint> lv = default, pv = default;
        long row = 0;
        while (cursor.MoveNext())
        {
            gl(ref lv);
            gp(ref pv);
            if (lv.Length != pv.Length)
            {
                throw new ArgumentException($"Row {row} has {lv.Length} tags in '{labelColumnName}' but {pv.Length} in '{predictedLabelColumnName}'.", nameof(data));
            }
            truth.Add(Names(lv, labelNames, labelColumnName, row));
            predicted.Add(Names(pv, predictedNames, predictedLabelColumnName, row));
            row++;
        }
        return Compute(truth, predicted);
    }

    private static string[] Names(VBuffer<uint> keys, string[] names, string column, long row)
    {
        var result = new string[keys.Length];
        int i = 0;
        foreach (var key in keys.DenseValues())
        {
            if (key == 0 || key > names.Length)
            {
                throw new ArgumentException($"Row {row} of column '{column}' has a missing or unknown key ({key}) at word {i}.", nameof(column));
            }
            result[i++] = names[key - 1];
        }
        return result;
    }

    private static DataViewSchema.Column TagColumn(DataViewSchema schema, string name, string role)
    {
        var column = TextColumns.Find(schema, name, role);
        if (column.Type is not VectorDataViewType { ItemType: KeyDataViewType key } || key.RawType != typeof(uint))
        {
            throw new ArgumentOutOfRangeException(name, $"Schema mismatch for {role} column '{name}': expected a vector of Key<UInt32> (one tag per word), got {column.Type}.");
        }
        return column;
    }

    private static string[] TagNames(DataViewSchema.Column column)
    {
        var keys = LabelKeys.FromColumn(column);
        if (keys is null || !keys.ItemType.Equals(TextDataViewType.Instance))
        {
            throw new ArgumentOutOfRangeException(column.Name,
                $"Column '{column.Name}' needs text key values (the tag names, e.g. B-PER, I-PER, O) to find entities; map the tags with MapValueToKey.");
        }
        return keys.ToText();
    }
}
