using System.Reflection;

namespace Microsoft.ML.Gwt.Tests.Reliability;

/// <summary>
/// What a failed <c>mlContext.Model.Load</c> may look like. ML.NET creates every model component by reflection
/// (<c>MethodInfo.Invoke</c> in its ComponentCatalog, without <c>DoNotWrapExceptions</c>): an error raised inside the
/// transformer chain's loader arrives in one <see cref="TargetInvocationException"/>, and one raised by our loader (which
/// the chain's loader calls the same way) in two. Those layers, and only those, are unwrapped here.
/// </summary>
internal static class ModelFileErrors
{
    /// <summary>Parts of our model entry, as named in our messages.</summary>
    private static readonly string[] Parts = { "'Settings'", "'Config'", "'Tokenizer'", "'Labels'", "'Weights'", "'Checksums'", "settings", "header of its GWT entry", "older Microsoft.ML.Gwt" };

    public static (Exception Inner, int Layers) Unwrap(Exception ex)
    {
        int layers = 0;
        while (ex is TargetInvocationException { InnerException: { } inner } && layers < 2)
        {
            ex = inner;
            layers++;
        }
        return (ex, layers);
    }

    /// <summary>The exception type, the layers and the part named (or the message's first words), for a tally.</summary>
    public static string Describe(Exception inner, int layers)
    {
        var part = Parts.FirstOrDefault(p => inner.Message.Contains(p, StringComparison.Ordinal));
        var words = string.Join(' ', inner.Message.Split(' ', '\n').Take(6));
        return $"{inner.GetType().Name} after {layers} reflection layer(s): " + (part is null ? $"\"{words}...\"" : $"names {part}");
    }

    /// <summary>Null when the error is acceptable: our <see cref="InvalidDataException"/> naming a damaged part (after
    /// exactly two layers), or ML.NET's or the zip reader's decoding error (<see cref="FormatException"/> or
    /// <see cref="InvalidDataException"/>) with a message of its own, raised before our loader ran.</summary>
    public static string? Problem(Exception inner, int layers)
    {
        if (inner is TargetInvocationException)
        {
            return "more than two reflection layers";
        }
        if (inner.Message.StartsWith("The model file", StringComparison.Ordinal))
        {
            if (inner is not InvalidDataException)
            {
                return "our error is not an InvalidDataException";
            }
            if (layers != 2)
            {
                return $"our error after {layers} layers, not 2";
            }
            return Parts.Any(p => inner.Message.Contains(p, StringComparison.Ordinal)) ? null : "our message names no part";
        }
        if (inner is FormatException or InvalidDataException && layers < 2 && inner.Message.Length > 0 &&
            inner.Message != new FormatException().Message)
        {
            return null;
        }
        return "not a named decoding error";
    }
}
