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

    /// <summary>The Microsoft.ML.Gwt .nupkg file.</summary>
    public static string Package => Packed.Value.Package;

    /// <summary>The package id of the training package (TorchSharp).</summary>
    public const string TrainingPackageId = "Microsoft.ML.Gwt";

    /// <summary>The package id of the native-free core (tokenizers, config, ML.NET interop, the scoring surface).</summary>
    public const string CorePackageId = "Microsoft.ML.Gwt.Core";

    /// <summary>The package id of the ONNX Runtime scoring package.</summary>
    public const string OnnxPackageId = "Microsoft.ML.Gwt.Onnx";

    /// <summary>The package id of the ONNX encoder importer (TorchSharp and ONNX Runtime).</summary>
    public const string OnnxImportPackageId = "Microsoft.ML.Gwt.OnnxImport";

    /// <summary>Every package the repository packs, dependencies first.</summary>
    public static readonly string[] PackageIds = { CorePackageId, OnnxPackageId, TrainingPackageId, OnnxImportPackageId };

    /// <summary>The Microsoft.ML.Gwt.Onnx .nupkg file.</summary>
    public static string OnnxPackage => PackagePath(OnnxPackageId);

    /// <summary>The .nupkg file of a package id.</summary>
    public static string PackagePath(string id) => Path.Combine(Feed, $"{id}.{Version}.nupkg");

    /// <summary>Writes a console app that restores from the packed feed (then nuget.org) into a new temporary folder and
    /// builds it in Release; the caller deletes the folder (a TorchSharp app is over 1 GB).</summary>
    /// <param name="prefix">The temporary folder's name prefix.</param>
    /// <param name="properties">Extra MSBuild properties.</param>
    /// <param name="packageReferences">The app's <c>PackageReference</c> items.</param>
    /// <param name="program">Program.cs.</param>
    /// <param name="buildOutput">Receives the build's output (restore warnings included), when given.</param>
    public static string BuildConsumerApp(string prefix, string properties, string packageReferences, string program,
        Action<string>? buildOutput = null)
    {
        var app = Directory.CreateTempSubdirectory(prefix).FullName;
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{Feed}" />
                <add key="nuget.org" value="https://api.nuget.org/v3/index.json" />
              </packageSources>
            </configuration>
            """);
        File.WriteAllText(Path.Combine(app, "app.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk">
              <PropertyGroup>
                <OutputType>Exe</OutputType>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                {properties}
              </PropertyGroup>
              <ItemGroup>
                {packageReferences}
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), program);
        var build = Run("dotnet", "build -c Release", app);
        buildOutput?.Invoke(build.Output);
        if (build.Code != 0)
        {
            Directory.Delete(app, recursive: true);
            Assert.Fail(build.Output);
        }
        return app;
    }

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
        // The core first: both other packages depend on it at the same version.
        foreach (var name in PackageIds)
        {
            var project = Path.Combine(RepositoryRoot, "src", name, name + ".csproj");
            var pack = Run("dotnet", $"pack \"{project}\" -c {config} --no-build -o \"{feed}\" -p:PackageVersion={version}", work);
            Assert.AreEqual(0, pack.Code, pack.Output);
            Assert.IsTrue(File.Exists(Path.Combine(feed, $"{name}.{version}.nupkg")), pack.Output);
        }
        return (feed, version, Path.Combine(feed, $"Microsoft.ML.Gwt.{version}.nupkg"));
    }
}
