using System.Text.Json;
using System.Text.RegularExpressions;

namespace Microsoft.ML.Gwt.Core.Tokenization.HuggingFace;

/// <summary>Reading tokenizer.json fields with errors that name the file and the field.</summary>
internal static class Json
{
    public static string Type(JsonElement e, string source, string what) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String
            ? t.GetString()!
            : throw new FormatException($"'{source}': the {what} has no \"type\".");

    public static bool Has(JsonElement e, string name) =>
        e.ValueKind == JsonValueKind.Object && e.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public static bool Bool(JsonElement e, string name, bool fallback) => OptionalBool(e, name) ?? fallback;

    public static bool? OptionalBool(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) ? v.ValueKind switch
        {
            JsonValueKind.True => true,
            JsonValueKind.False => false,
            _ => null,
        } : null;

    public static string String(JsonElement e, string name, string source) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String
            ? v.GetString()!
            : throw new FormatException($"'{source}': \"{name}\" must be a string.");

    public static string? OptionalString(JsonElement e, string name) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.String ? v.GetString() : null;

    public static int Int(JsonElement e, string name, string source) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Number && v.TryGetInt32(out int i)
            ? i
            : throw new FormatException($"'{source}': \"{name}\" must be an integer.");

    public static IEnumerable<JsonElement> Array(JsonElement e, string name, string source) =>
        e.TryGetProperty(name, out var v) && v.ValueKind == JsonValueKind.Array
            ? v.EnumerateArray()
            : throw new FormatException($"'{source}': \"{name}\" must be an array.");

    /// <summary>A tokenizers <c>pattern</c>: <c>{"String": s}</c> (literal) or <c>{"Regex": r}</c>.</summary>
    public static Regex Pattern(JsonElement e, string source)
    {
        if (!e.TryGetProperty("pattern", out var p) || p.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"'{source}': a Replace/Split needs a \"pattern\" object.");
        }
        if (p.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
        {
            return new Regex(Regex.Escape(s.GetString()!), RegexOptions.CultureInvariant);
        }
        if (p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
        {
            try
            {
                return new Regex(r.GetString()!, RegexOptions.CultureInvariant);
            }
            catch (ArgumentException ex)
            {
                throw new NotSupportedException($"'{source}': the regex '{r.GetString()}' is not supported by .NET: {ex.Message}", ex);
            }
        }
        throw new FormatException($"'{source}': \"pattern\" must hold \"String\" or \"Regex\".");
    }
}
