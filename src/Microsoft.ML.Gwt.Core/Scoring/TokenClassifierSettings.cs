namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>What a token classifier (named entity recognition) is besides its network: the text column, the output
/// column, the tags (the label's key values, in key order), truncation, batch size, and the tag given to words that get no
/// token (cut by truncation, or text the tokenizer drops). Both NER transformers' model entries begin with it
/// (<see cref="Write"/>), and the ONNX scoring folder's manifest holds it.</summary>
/// <param name="Sentence">The text column; its words are its whitespace-separated parts.</param>
/// <param name="OutputColumn">The output column: a vector of keys, one per word.</param>
/// <param name="MaxSequenceLength">Tokens per example, special tokens included.</param>
/// <param name="ScoringBatchSize">Rows per forward pass.</param>
/// <param name="FallbackKey">The 0-based key of the tag for words without a token: the most frequent tag of the
/// training data (the outside tag, O, in IOB2 data).</param>
/// <param name="Tags">The label's key values (their count is the number of tags).</param>
public sealed record TokenClassifierSettings(string Sentence, string OutputColumn, int MaxSequenceLength, int ScoringBatchSize, int FallbackKey, LabelKeys Tags)
{
    /// <summary>Writes the settings.</summary>
    public void Write(BinaryWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Write(Sentence);
        w.Write(OutputColumn);
        w.Write(MaxSequenceLength);
        w.Write(ScoringBatchSize);
        w.Write(FallbackKey);
        w.Write(Tags.Count);
        Tags.Save(w);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    /// <exception cref="InvalidDataException">The values are damaged.</exception>
    public static TokenClassifierSettings Read(BinaryReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string sentence = r.ReadString(), output = r.ReadString();
        int maxLength = r.ReadInt32(), batch = r.ReadInt32(), fallback = r.ReadInt32(), count = r.ReadInt32();
        if (count < 1 || count > 1 << 20)
        {
            throw new InvalidDataException($"The model file has an invalid tag count {count}.");
        }
        return new TokenClassifierSettings(sentence, output, maxLength, batch, fallback, LabelKeys.Load(r, count));
    }

    /// <summary>Refuses values no trainer or exporter writes; <paramref name="source"/> begins the message.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    public void Validate(string source)
    {
        if (string.IsNullOrEmpty(Sentence) || string.IsNullOrEmpty(OutputColumn) || MaxSequenceLength < 4 || ScoringBatchSize < 1
            || FallbackKey < 0 || FallbackKey >= Tags.Count)
        {
            throw new InvalidDataException($"{source} has invalid settings (max length {MaxSequenceLength}, batch {ScoringBatchSize}, " +
                $"text column '{Sentence}', output column '{OutputColumn}', fallback tag {FallbackKey} of {Tags.Count}).");
        }
    }
}
