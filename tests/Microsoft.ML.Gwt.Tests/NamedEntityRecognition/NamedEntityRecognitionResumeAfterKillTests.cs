using System.Diagnostics;

namespace Microsoft.ML.Gwt.Tests.NamedEntityRecognition;

/// <summary>Resume after kill for named entity recognition: the TestHost child trains on 96 spamassassin-ner sentences
/// with a checkpoint folder, is killed mid-epoch, and a second run resumes to the uninterrupted run's weights.</summary>
[TestClass]
public sealed class NamedEntityRecognitionResumeAfterKillTests
{
    private static string HostDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory); // tests/Microsoft.ML.Gwt.Tests/bin/<Config>/net10.0/
        var path = Path.GetFullPath(Path.Combine(baseDir.FullName, "..", "..", "..", "..", "Microsoft.ML.Gwt.TestHost", "bin", baseDir.Parent!.Name, "net10.0", "Microsoft.ML.Gwt.TestHost.dll"));
        Assert.IsTrue(File.Exists(path), $"test host not built: {path}");
        return path;
    }

    private static Process Start(string checkpoint, string result, int hangAtStep = -1)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { HostDll(), Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin-ner.tsv"), checkpoint, result, "2", hangAtStep.ToString() })
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    private static (string[] Result, string[] Stdout) RunToEnd(string checkpoint)
    {
        var result = Path.GetTempFileName();
        using var p = Start(checkpoint, result);
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode, stderr.Result);
        return (File.ReadAllText(result).Split(' '), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [TestMethod]
    [TestCategory(TestCategories.Process)] // the TestHost child, run, killed and resumed
    public void KilledMidEpochRunResumesToTheSameWeightsAsAnUninterruptedRun()
    {
        // 96 sentences in batches of 8: 12 steps per epoch, 2 epochs, a checkpoint every 5 steps; killed after step 17, so
        // the latest checkpoint is step 15 (epoch 2, batch 3).
        var (uninterrupted, _) = RunToEnd("-");
        var folder = Directory.CreateTempSubdirectory("gwt-ner-resume-").FullName;
        using (var victim = Start(folder, Path.GetTempFileName(), hangAtStep: 17))
        {
            string? line;
            while ((line = victim.StandardOutput.ReadLine()) is not null && line != "step 17")
            {
            }
            Assert.AreEqual("step 17", line, "the child should reach step 17");
            victim.Kill(entireProcessTree: true);
            victim.WaitForExit();
            Assert.AreNotEqual(0, victim.ExitCode);
        }
        Assert.AreEqual("step-000000015-e0001", File.ReadAllText(Path.Combine(folder, "latest")).Trim());

        var (resumed, stdout) = RunToEnd(folder);
        Assert.AreEqual("step 16", stdout.First(l => l.StartsWith("step ", StringComparison.Ordinal)), "the resumed run continues at step 16");
        Assert.AreEqual("True", resumed[2], "the second run resumed from the checkpoint");
        Assert.AreEqual("24", uninterrupted[1]);
        Assert.AreEqual(uninterrupted[0], resumed[0], "bit-identical final weights (SHA-256)");
    }
}
