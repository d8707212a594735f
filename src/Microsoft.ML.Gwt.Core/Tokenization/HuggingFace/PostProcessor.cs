using System.Text.Json;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>One element of a template: a special token's ids or sequence A/B, with a segment id.</summary>
internal readonly record struct TemplatePart(int[]? SpecialIds, int Sequence, int TypeId);

/// <summary>A tokenizer.json post-processor, reduced to what sets ids: templates for one sentence and for a pair
/// (TemplateProcessing, BertProcessing, RobertaProcessing; ByteLevel only changes offsets).</summary>
internal sealed class PostProcessor
{
    private readonly TemplatePart[] _single, _pair;

    private PostProcessor(TemplatePart[] single, TemplatePart[] pair)
    {
        _single = single;
        _pair = pair;
    }

    /// <summary>No special tokens: <c>a</c> and <c>a b</c> with segment ids 0 and 1.</summary>
    public static PostProcessor None { get; } = new(
        new[] { new TemplatePart(null, 0, 0) }, new[] { new TemplatePart(null, 0, 0), new TemplatePart(null, 1, 1) });

    /// <summary>The number of special ids added for one sentence or a pair.</summary>
    public int SpecialCount(bool pair) => (pair ? _pair : _single).Sum(p => p.SpecialIds?.Length ?? 0);

    /// <summary>The ids and segment ids of the assembled example.</summary>
    public EncodedText Assemble(IReadOnlyList<int> first, IReadOnlyList<int>? second)
    {
        var ids = new List<int>();
        var types = new List<int>();
        foreach (var part in second is null ? _single : _pair)
        {
            IEnumerable<int> add = part.SpecialIds ?? (part.Sequence == 0 ? first : second!);
            foreach (int id in add)
            {
                ids.Add(id);
                types.Add(part.TypeId);
            }
        }
        return new EncodedText(ids.ToArray(), types.ToArray());
    }

    /// <summary>Reads a tokenizer.json <c>post_processor</c> (null: no special tokens).</summary>
    /// <exception cref="NotSupportedException">The type is not supported.</exception>
    public static PostProcessor Parse(JsonElement e, string source)
    {
        if (e.ValueKind == JsonValueKind.Null || e.ValueKind == JsonValueKind.Undefined)
        {
            return None;
        }
        string type = Json.Type(e, source, "post_processor");
        switch (type)
        {
            case "ByteLevel":
                return None;
            case "BertProcessing":
            {
                int[] cls = { TokenId(e, "cls", source) }, sep = { TokenId(e, "sep", source) };
                return new PostProcessor(
                    new[] { new TemplatePart(cls, 0, 0), new TemplatePart(null, 0, 0), new TemplatePart(sep, 0, 0) },
                    new[] { new TemplatePart(cls, 0, 0), new TemplatePart(null, 0, 0), new TemplatePart(sep, 0, 0), new TemplatePart(null, 1, 1), new TemplatePart(sep, 0, 1) });
            }
            case "RobertaProcessing":
            {
                int[] cls = { TokenId(e, "cls", source) }, sep = { TokenId(e, "sep", source) };
                return new PostProcessor(
                    new[] { new TemplatePart(cls, 0, 0), new TemplatePart(null, 0, 0), new TemplatePart(sep, 0, 0) },
                    new[] { new TemplatePart(cls, 0, 0), new TemplatePart(null, 0, 0), new TemplatePart(sep, 0, 0), new TemplatePart(sep, 0, 0), new TemplatePart(null, 1, 0), new TemplatePart(sep, 0, 0) });
            }
            case "TemplateProcessing":
                return Template(e, source);
            case "Sequence":
            {
                var parts = Json.Array(e, "processors", source).Select(p => Parse(p, source)).Where(p => !ReferenceEquals(p, None)).ToList();
                return parts.Count switch
                {
                    0 => None,
                    1 => parts[0],
                    _ => throw new NotSupportedException($"'{source}': a post_processor Sequence with {parts.Count} processors that add special tokens is not supported."),
                };
            }
            default:
                throw new NotSupportedException(
                    $"'{source}' uses the post-processor '{type}', which is not supported (supported: TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel, Sequence).");
        }
    }

    /// <summary><c>"cls": ["[CLS]", 101]</c>.</summary>
    private static int TokenId(JsonElement e, string name, string source) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array && v.GetArrayLength() == 2 && v[1].TryGetInt32(out int id)
            ? id
            : throw new FormatException($"'{source}': the post_processor's \"{name}\" must be [token, id].");

    private static PostProcessor Template(JsonElement e, string source)
    {
        var specials = new Dictionary<string, int[]>(StringComparer.Ordinal);
        if (e.TryGetProperty("special_tokens", out var st) && st.ValueKind == JsonValueKind.Object)
        {
            foreach (var p in st.EnumerateObject())
            {
                specials[p.Name] = Json.Array(p.Value, "ids", source).Select(v => v.GetInt32()).ToArray();
            }
        }
        TemplatePart[] Read(string name) => Json.Array(e, name, source).Select(item =>
        {
            if (item.TryGetProperty("SpecialToken", out var s))
            {
                string id = Json.String(s, "id", source);
                return new TemplatePart(specials.TryGetValue(id, out var ids) ? ids
                    : throw new FormatException($"'{source}': the template uses '{id}', which is not in special_tokens."), 0, TypeId(s));
            }
            if (item.TryGetProperty("Sequence", out var q))
            {
                string id = Json.String(q, "id", source);
                return new TemplatePart(null, id == "A" ? 0 : id == "B" ? 1 : throw new FormatException($"'{source}': template sequence '{id}' is not A or B."), TypeId(q));
            }
            throw new FormatException($"'{source}': a template item must be SpecialToken or Sequence.");
        }).ToArray();
        return new PostProcessor(Read("single"), Read("pair"));
    }

    private static int TypeId(JsonElement e) => e.TryGetProperty("type_id", out var t) && t.TryGetInt32(out int v) ? v : 0;
}
