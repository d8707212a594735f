using System.Numerics;
using Microsoft.ML.Gwt.Wavelets;
using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Checks <see cref="GwtTextTrainerOptions.GwtLevel"/> against the weights GWT will compress,
/// before training, so the error names the option, the model parameter and its shape.</summary>
internal static class GwtLevelCheck
{
    /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> (parameter <c>GwtLevel</c>) naming the first compressed
    /// weight whose transformed (last) dimension is shorter than 2^GwtLevel.</summary>
    public static void ThrowIfTooHigh(IEnumerable<(string name, Parameter parameter)> parameters, GwtTextTrainerOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        ThrowIfTooHigh(parameters, options.GwtLevel, options.ResolveTargetSelector());
    }

    /// <summary>The same check for any trainer: <paramref name="level"/> is its <c>GwtLevel</c> option and
    /// <paramref name="selector"/> picks the compressed weights.</summary>
    public static void ThrowIfTooHigh(IEnumerable<(string name, Parameter parameter)> parameters, int level, Func<string, Parameter, bool> selector)
    {
        ArgumentNullException.ThrowIfNull(parameters);
        if (level == 0)
        {
            return;
        }
        foreach (var (name, p) in parameters)
        {
            if (!p.requires_grad || p.dim() < 2 || !selector(name, p))
            {
                continue;
            }
            long length = p.shape[^1];
            try
            {
                HaarWavelet.ValidateLevels(length, level, "GwtLevel");
            }
            catch (ArgumentOutOfRangeException ex)
            {
                throw new ArgumentOutOfRangeException("GwtLevel", level,
                    $"GwtLevel {level} is too high for '{name}', a GWT-compressed weight of shape [{string.Join(", ", p.shape)}]: " +
                    $"{ex.Message.Split(" (Parameter")[0]} Use GwtLevel <= {BitOperations.Log2((ulong)length)}, or leave '{name}' out with GwtTargetSelector.");
            }
        }
    }
}
