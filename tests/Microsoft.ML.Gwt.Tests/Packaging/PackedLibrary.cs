using System.Diagnostics;

namespace Microsoft.ML.Gwt.Tests.Packaging;

/// <summary>The library packed once per test run (from the build the tests run on) into a temporary local feed.</summary>
internal static class PackedLibrary
{
    private static readonly Lazy<(string Feed, string Version, string Package)> Packed = new(Pack);

    /// <summary>The repository root (the folder with Gwt.sln).</summary>
    public static string RepositoryRoot
    {
        get
        {
            var root = new DirectoryInfo(AppContext.BaseDirectory);
            while (root is not null && !File.Exists(Path.Combine(root.FullName, "Gwt.sln")))
            {
                root = root.Parent;
            }
            Assert.IsNotNull(root, "repository root not found");
            return root.FullName;
        }
    }

    /// <summary>The folder holding the .nupkg.</summary>
    public static string Feed => Packed.Value.Feed;

    /// <summary>The unique version it was packed with.</summary>
    public static string Version => Packed.Value.Version;

    /// <summary>The .nupkg file.</summary>
    public static string Package => Packed.Value.Package;

    /// <summary>Runs a process and returns its exit code and output (stdout then stderr).</summary>
    public static (int Code, string Output) Run(string file, string arguments, string dir)
    {
        var psi = new ProcessStartInfo(file, arguments) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        psi.Environment["DOTNET_NOLOGO"] = "1";
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        return (p.ExitCode, output + err.Result);
    }

    private static (string, string, string) Pack()
    {
        string config = new DirectoryInfo(AppContext.BaseDirectory).Parent!.Name;
        var work = Directory.CreateTempSubdirectory("gwt-pack-").FullName;
        var feed = Path.Combine(work, "feed");
        string version = $"0.1.0-test{DateTime.UtcNow:yyyyMMddHHmmssfff}";
        var project = Path.Combine(RepositoryRoot, "src", "Microsoft.ML.Gwt", "Microsoft.ML.Gwt.csproj");
        var pack = Run("dotnet", $"pack \"{project}\" -c {config} --no-build -o \"{feed}\" -p:PackageVersion={version}", work);
        Assert.AreEqual(0, pack.Code, pack.Output);
        var package = Path.Combine(feed, $"Microsoft.ML.Gwt.{version}.nupkg");
        Assert.IsTrue(File.Exists(package), pack.Output);
        return (feed, version, package);
    }
}
