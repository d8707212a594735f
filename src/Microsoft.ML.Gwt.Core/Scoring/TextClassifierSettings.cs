using System.Globalization;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>What a text classifier is besides its network: text columns, output column names, truncation, batch size,
/// class count and label values. Both classifiers' model entries begin with it (<see cref="Write"/>), and the ONNX
/// scoring folder's manifest holds it.</summary>
public sealed record TextClassifierSettings(string Sentence1, string? Sentence2, string ScoreColumn, string PredictedLabelColumn,
    int MaxSequenceLength, int ScoringBatchSize, int Classes, LabelKeys? Labels)
{
    /// <summary>Writes all but the label values, which are a part of their own.</summary>
    public void Write(BinaryWriter w)
    {
        w.Write(Sentence1);
        w.Write(Sentence2 is not null);
        w.Write(Sentence2 ?? string.Empty);
        w.Write(ScoreColumn);
        w.Write(PredictedLabelColumn);
        w.Write(MaxSequenceLength);
        w.Write(ScoringBatchSize);
        w.Write(Classes);
    }

    /// <summary>Reads what <see cref="Write"/> wrote (with no label values).</summary>
    public static TextClassifierSettings Read(BinaryReader r)
    {
        string first = r.ReadString();
        bool hasSecond = r.ReadBoolean();
        string second = r.ReadString();
        return new(first, hasSecond ? second : null, r.ReadString(), r.ReadString(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), null);
    }

    /// <summary>Refuses values no trainer or exporter writes; <paramref name="source"/> begins the message.</summary>
    public void Validate(string source)
    {
        if (string.IsNullOrEmpty(Sentence1) || string.IsNullOrEmpty(ScoreColumn) || string.IsNullOrEmpty(PredictedLabelColumn) ||
            Classes < 2 || Classes > 1 << 20 || MaxSequenceLength < 4 || ScoringBatchSize < 1 || (Labels is not null && Labels.Count != Classes))
        {
            throw new InvalidDataException($"{source} has invalid settings (classes {Classes}, max length {MaxSequenceLength}, batch {ScoringBatchSize}, " +
                $"text column '{Sentence1}', labels {Labels?.Count.ToString(CultureInfo.InvariantCulture) ?? "none"}).");
        }
    }
}
