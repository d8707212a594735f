using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Refuses to run against another Microsoft.ML than the one whose internals <see cref="MlNetInterop"/> and
/// <see cref="ModelLoaderAssembly"/> reach by reflection. The package depends on exactly that version; this guard catches
/// an application that forces another one (a binding redirect, a newer Microsoft.ML referenced next to ours).
/// </summary>
internal static class MlNetVersionGuard
{
    /// <summary>The only Microsoft.ML version this library supports.</summary>
    public const string SupportedVersion = "5.0.1";

    private static readonly Lazy<NotSupportedException?> Failure = new(() => Check(LoadedVersions()), LazyThreadSafetyMode.ExecutionAndPublication);

    /// <summary>Test hook: versions to check instead of the loaded assemblies' (null: the real ones).</summary>
    internal static IReadOnlyList<(string Assembly, string? Version)>? TestVersions { get; set; }

    /// <summary>Throws <see cref="NotSupportedException"/> naming <see cref="SupportedVersion"/> when the Microsoft.ML
    /// assemblies loaded in this process are another version. Checked once per process.</summary>
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

    /// <summary>The error for these loaded versions, or null when every one is <see cref="SupportedVersion"/>
    /// (a "+commit" suffix is ignored).</summary>
    internal static NotSupportedException? Check(IEnumerable<(string Assembly, string? Version)> loaded)
    {
        foreach (var (assembly, version) in loaded)
        {
            string? release = version?.Split('+')[0].Trim();
            if (release != SupportedVersion)
            {
                return new NotSupportedException(
                    $"Microsoft.ML.Gwt supports Microsoft.ML {SupportedVersion} only (it reaches ML.NET's internal model persistence " +
                    $"API, which changes between releases), but this process loaded {assembly} {(string.IsNullOrEmpty(version) ? "of an unknown version" : version)}. " +
                    $"Reference Microsoft.ML {SupportedVersion}.");
            }
        }
        return null;
    }
}
