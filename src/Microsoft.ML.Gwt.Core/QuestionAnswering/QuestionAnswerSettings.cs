namespace Microsoft.ML.Gwt.Core.QuestionAnswering;

/// <summary>What a question-answering model is besides its network: the columns it reads and writes, how many answers
/// it gives, how contexts become windows, and the windows per forward pass. Both question-answering transformers'
/// model entries begin with it (<see cref="Write"/>).</summary>
/// <param name="Context">The context text column.</param>
/// <param name="Question">The question text column.</param>
/// <param name="Answer">The output column of answers (a vector of text, best first).</param>
/// <param name="Score">The output column of the answers' probabilities (a vector of float).</param>
/// <param name="TopK">Answers per row, at most.</param>
/// <param name="Layout">Windows and span limits.</param>
/// <param name="ScoringBatchSize">Windows per forward pass.</param>
public sealed record QuestionAnswerSettings(string Context, string Question, string Answer, string Score, int TopK, QuestionAnswerLayout Layout,
    int ScoringBatchSize)
{
    /// <summary>Writes the settings.</summary>
    public void Write(BinaryWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Write(Context);
        w.Write(Question);
        w.Write(Answer);
        w.Write(Score);
        w.Write(TopK);
        w.Write(Layout.MaxSequenceLength);
        w.Write(Layout.DocumentStride);
        w.Write(Layout.MaxQuestionTokens);
        w.Write(Layout.MaxAnswerTokens);
        w.Write(ScoringBatchSize);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public static QuestionAnswerSettings Read(BinaryReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string context = r.ReadString(), question = r.ReadString(), answer = r.ReadString(), score = r.ReadString();
        int topK = r.ReadInt32();
        var layout = new QuestionAnswerLayout(r.ReadInt32(), r.ReadInt32(), r.ReadInt32(), r.ReadInt32());
        return new(context, question, answer, score, topK, layout, r.ReadInt32());
    }

    /// <summary>Refuses values no trainer writes; <paramref name="source"/> begins the message.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    public void Validate(string source)
    {
        if (string.IsNullOrEmpty(Context) || string.IsNullOrEmpty(Question) || string.IsNullOrEmpty(Answer) || string.IsNullOrEmpty(Score)
            || TopK < 1 || Layout.MaxSequenceLength < 8 || Layout.DocumentStride < 0 || Layout.MaxQuestionTokens < 1 || Layout.MaxAnswerTokens < 1
            || ScoringBatchSize < 1)
        {
            throw new InvalidDataException($"{source} has invalid question-answering settings (columns '{Context}', '{Question}', '{Answer}', '{Score}', " +
                $"top {TopK}, {Layout}, batch {ScoringBatchSize}).");
        }
    }
}
