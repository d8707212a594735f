namespace Microsoft.ML.Gwt.Training;

/// <summary>The one validator of trainer and pre-training options: a failed check names the option, its value and
/// what was expected.</summary>
internal static class OptionCheck
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming <paramref name="name"/> unless <paramref name="ok"/>.</summary>
    public static void Require(bool ok, string name, object? value, string expected)
    {
        if (!ok)
        {
            throw new ArgumentOutOfRangeException(name, value, $"{name} must be {expected}.");
        }
    }
}
