namespace Microsoft.ML.Gwt.Core.Evaluation;

/// <summary>One entity of a tag sequence: its type and its first and last word (inclusive).</summary>
/// <param name="Type">The entity type (the tag after <c>B-</c>/<c>I-</c>; "_" for a bare <c>B</c> or <c>I</c>).</param>
/// <param name="Start">Index of its first word.</param>
/// <param name="End">Index of its last word (inclusive).</param>
public readonly record struct NamedEntitySpan(string Type, int Start, int End);

/// <summary>
/// The entities of tag sequences as seqeval's default mode finds them (<c>get_entities</c>, <c>end_of_chunk</c>,
/// <c>start_of_chunk</c> of seqeval/metrics/sequence_labeling.py, the counting of CoNLL's <c>conlleval</c>): IOB2 (and
/// IOBES) tags; a chunk starts at <c>B-</c> or <c>S-</c>, and also at an <c>I-</c> or <c>E-</c> that follows <c>O</c> or
/// a tag of another type (non-strict: an <c>I-</c> without a preceding <c>B-</c> starts an entity); it ends before
/// <c>O</c>, <c>B-</c>, <c>S-</c>, a change of type, or after <c>E-</c>/<c>S-</c>.
/// </summary>
public static class NamedEntitySpans
{
    /// <summary>The entities of one sequence of tags, in order.</summary>
    /// <exception cref="ArgumentException">A tag is neither <c>O</c> nor starts with <c>B</c>, <c>I</c>, <c>E</c> or
    /// <c>S</c> (followed by nothing or a <c>-</c>); the message names it and its position.</exception>
    public static List<NamedEntitySpan> Find(IReadOnlyList<string> tags)
    {
        ArgumentNullException.ThrowIfNull(tags);
        var chunks = new List<NamedEntitySpan>();
        char prevTag = 'O';
        string prevType = "";
        int begin = 0;
        for (int i = 0; i <= tags.Count; i++)
        {
            var (tag, type) = i < tags.Count ? Split(tags[i], i) : ('O', "_");
            if (EndOfChunk(prevTag, tag, prevType, type))
            {
                chunks.Add(new NamedEntitySpan(prevType, begin, i - 1));
            }
            if (StartOfChunk(prevTag, tag, prevType, type))
            {
                begin = i;
            }
            prevTag = tag;
            prevType = type;
        }
        return chunks;
    }

    /// <summary>A tag's prefix letter and type, as seqeval splits it (<c>chunk[0]</c>, the rest after the first <c>-</c>).</summary>
    private static (char Tag, string Type) Split(string? chunk, int position)
    {
        bool valid = chunk is "O" or "B" or "I" or "E" or "S"
            || (chunk is { Length: >= 2 } && chunk[1] == '-' && chunk[0] is 'B' or 'I' or 'E' or 'S');
        if (!valid)
        {
            throw new ArgumentException($"Invalid tag '{chunk}' at word {position}: expected O or a B-, I-, E- or S- tag (IOB2 or IOBES).", nameof(chunk));
        }
        string rest = chunk!.Substring(1);
        int dash = rest.IndexOf('-');
        string type = dash < 0 ? rest : rest.Substring(dash + 1);
        return (chunk[0], type.Length == 0 ? "_" : type);
    }

    private static bool EndOfChunk(char prevTag, char tag, string prevType, string type) =>
        prevTag is 'E' or 'S'
        || (prevTag is 'B' or 'I' && tag is 'B' or 'S' or 'O')
        || (prevTag != 'O' && prevTag != '.' && prevType != type);

    private static bool StartOfChunk(char prevTag, char tag, string prevType, string type) =>
        tag is 'B' or 'S'
        || (prevTag is 'E' or 'S' or 'O' && tag is 'E' or 'I')
        || (tag != 'O' && tag != '.' && prevType != type);
}
