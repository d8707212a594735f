using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Interop;

/// <summary>
/// Refuses to run against a Microsoft.ML release line whose internals <see cref="MlNetBindings"/> has not been tested
/// against. The packages accept the same lines (<c>[5.0.1, 6.1.0)</c>); this guard catches an application that forces
/// another one (a newer Microsoft.ML referenced next to ours, a binding redirect). Every reflection into ML.NET goes
/// through <see cref="MlNetBindings.Current"/>, which runs this check first.
/// </summary>
public static class MlNetVersionGuard
{
    /// <summary>The Microsoft.ML release lines (major.minor, any patch release) that the test suite runs against:
    /// <c>.ci/run</c> runs the whole suite on 6.0 and the ML.NET-facing tests again on 5.0.</summary>
    public static IReadOnlyList<Version> SupportedLines { get; } = new[] { new Version(5, 0), new Version(6, 0) };

    /// <summary>The lines in words, for messages: "5.0.x or 6.0.x".</summary>
    public static string SupportedText => string.Join(" or ", SupportedLines.Select(l => $"{l.Major}.{l.Minor}.x"));

    private static readonly Lazy<NotSupportedException?> Failure = new(() => Check(LoadedVersions()), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Test hook: versions to check instead of the loaded assemblies' (null: the real ones).</summary>
    internal static IReadOnlyList<(string Assembly, string? Version)>? TestVersions { get; set; }

    /// <summary>Throws <see cref="NotSupportedException"/> naming the supported lines when the Microsoft.ML assemblies
    /// loaded in this process are of another line. Checked once per process.</summary>
    public static void EnsureSupported()
    {
        var failure = TestVersions is { } versions ? Check(versions) : Failure.Value;
        if (failure is not null)
        {
            throw new NotSupportedException(failure.Message);
        }
    }

    /// <summary>The informational versions of the loaded Microsoft.ML assemblies we reflect into (Core, Data), by name.</summary>
    internal static IReadOnlyList<(string Assembly, string? Version)> LoadedVersions() =>
        new[] { typeof(ModelSaveContext).Assembly, typeof(MLContext).Assembly }.Distinct()
            .Select(a => (a.GetName().Name!, a.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion))
            .ToList();

    /// <summary>The release line of an informational version ("6.0.0+commit" → 6.0), or null for a pre-release or an
    /// unreadable version.</summary>
    internal static Version? LineOf(string? informationalVersion)
    {
        string release = informationalVersion?.Split('+')[0].Trim() ?? "";
        return !release.Contains('-') && Version.TryParse(release, out var v) && v.Build >= 0 && v.Revision < 0
            ? new Version(v.Major, v.Minor) : null;
    }

    /// <summary>The error for these loaded versions, or null when every one is a release of a supported line.</summary>
    internal static NotSupportedException? Check(IEnumerable<(string Assembly, string? Version)> loaded)
    {
        foreach (var (assembly, version) in loaded)
        {
            if (LineOf(version) is not { } line || !SupportedLines.Contains(line))
            {
                return new NotSupportedException(
                    $"Microsoft.ML.Gwt supports Microsoft.ML {SupportedText} (it reaches ML.NET's internal model persistence " +
                    $"API, which can change between releases, and is tested on those lines only), but this process loaded {assembly} " +
                    $"{(string.IsNullOrEmpty(version) ? "of an unknown version" : version)}. Reference Microsoft.ML 6.0.0 or 5.0.1.");
            }
        }
        return null;
    }
}
