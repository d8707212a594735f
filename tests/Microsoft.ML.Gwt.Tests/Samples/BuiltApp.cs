using System.Diagnostics;

namespace Microsoft.ML.Gwt.Tests.Samples;

/// <summary>Runs an executable of this repository (built alongside the tests: see the test project's references) in a
/// child process, as a user runs it with <c>dotnet run</c>.</summary>
internal static class BuiltApp
{
    /// <summary>The built DLL of <c>folder/project/project.csproj</c> in the tests' configuration.</summary>
    public static string Dll(string folder, string project)
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory); // tests/Microsoft.ML.Gwt.Tests/bin/<Config>/net10.0/
        var config = baseDir.Parent!.Name;
        var path = Path.GetFullPath(Path.Combine(baseDir.FullName, "..", "..", "..", "..", "..", folder, project, "bin", config, "net10.0", project + ".dll"));
        Assert.IsTrue(File.Exists(path), $"{folder}/{project} not built: {path}");
        return path;
    }

    /// <summary>Runs <paramref name="dll"/> with <paramref name="args"/>, in <paramref name="workingDirectory"/> (default:
    /// the tests' own) with <paramref name="environment"/> added, and returns its exit code and output.</summary>
    public static (int ExitCode, string Stdout, string Stderr) Run(string dll, IEnumerable<string> args, string? workingDirectory = null,
        IReadOnlyDictionary<string, string>? environment = null)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(dll);
        foreach (var a in args)
        {
            psi.ArgumentList.Add(a);
        }
        if (workingDirectory is not null)
        {
            psi.WorkingDirectory = workingDirectory;
        }
        foreach (var (name, value) in environment ?? new Dictionary<string, string>())
        {
            psi.Environment[name] = value;
        }
        using var p = Process.Start(psi)!;
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        if (!p.WaitForExit(TimeSpan.FromMinutes(4)))
        {
            p.Kill(entireProcessTree: true);
            Assert.Fail($"{Path.GetFileName(dll)} did not finish in 4 minutes (a hang guard, not a speed check)");
        }
        return (p.ExitCode, stdout, stderr.Result);
    }
}
