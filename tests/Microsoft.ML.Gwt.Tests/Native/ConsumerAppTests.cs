using System.Diagnostics;

namespace Microsoft.ML.Gwt.Tests.Native;

/// <summary>A user's own console app that references only our package and TorchSharp-cpu, and calls TorchSharp
/// directly (before any Microsoft.ML.Gwt type), runs a tensor op on stock Debian 12.</summary>
[TestClass]
public sealed class ConsumerAppTests
{
    private static (int Code, string Output) Run(string file, string arguments, string dir)
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

    [TestMethod]
    [TestCategory("Integration")]
    public void PackageConsumerCallingTorchSharpDirectlyRuns()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory);
        string config = baseDir.Parent!.Name;
        var root = baseDir;
        while (root is not null && !File.Exists(Path.Combine(root.FullName, "Gwt.sln")))
        {
            root = root.Parent;
        }
        Assert.IsNotNull(root, "repository root not found");
        var work = Directory.CreateTempSubdirectory("gwt-consumer-").FullName;
        var feed = Path.Combine(work, "feed");
        string version = $"0.1.0-test{DateTime.UtcNow:yyyyMMddHHmmssfff}";

        var pack = Run("dotnet", $"pack \"{Path.Combine(root.FullName, "src", "Microsoft.ML.Gwt", "Microsoft.ML.Gwt.csproj")}\" -c {config} --no-build -o \"{feed}\" -p:PackageVersion={version}", work);
        Assert.AreEqual(0, pack.Code, pack.Output);

        var app = Path.Combine(work, "app");
        Directory.CreateDirectory(app);
        File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{feed}" />
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
              </PropertyGroup>
              <ItemGroup>
                <PackageReference Include="Microsoft.ML.Gwt" Version="{version}" />
                <PackageReference Include="TorchSharp-cpu" Version="0.107.0" />
              </ItemGroup>
            </Project>
            """);
        File.WriteAllText(Path.Combine(app, "Program.cs"), """
            using Microsoft.ML;
            using Microsoft.ML.Data;
            using TorchSharp;
            using var t = torch.ones(3) * 2;
            Console.WriteLine($"sum={t.sum().item<float>()}");
            // A new process, a new MLContext, no registration call: load a GWT model saved elsewhere and score.
            var ml = new MLContext();
            var model = ml.Model.Load(args[0], out _);
            var data = ml.Data.LoadFromEnumerable(new[] { new Row { Label = "spam", Text = "FREE money, click now" } });
            var score = model.Transform(data).GetColumn<float[]>("Score").First();
            Console.WriteLine($"classes={score.Length} total={score.Sum():F3}");
            sealed class Row { public string Label { get; set; } = ""; public string Text { get; set; } = ""; }
            """);
        var (ml, trained, test) = Trainers.TrainerBehaviourTests.Trained();
        var modelPath = Path.Combine(work, "model.zip");
        ml.Model.Save(trained, test.Schema, modelPath);
        var build = Run("dotnet", "build -c Release", app);
        Assert.AreEqual(0, build.Code, build.Output);
        var run = Run("dotnet", $"{Path.Combine("bin", "Release", "net10.0", "app.dll")} \"{modelPath}\"", app);
        Assert.AreEqual(0, run.Code, run.Output);
        StringAssert.Contains(run.Output, "sum=6");
        StringAssert.Contains(run.Output, "classes=2 total=1.000");
    }
}
