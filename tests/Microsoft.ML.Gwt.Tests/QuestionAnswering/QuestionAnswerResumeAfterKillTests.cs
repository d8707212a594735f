using System.Diagnostics;

namespace Microsoft.ML.Gwt.Tests.QuestionAnswering;

/// <summary>Resume after kill for question answering: the TestHost child trains on 8 spamassassin-qa questions with a
/// checkpoint folder, is killed in the second epoch, and a second run resumes to the uninterrupted run's weights.</summary>
[TestClass]
public sealed class QuestionAnswerResumeAfterKillTests
{
    private static string HostDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory);
        var path = Path.GetFullPath(Path.Combine(baseDir.FullName, "..", "..", "..", "..", "Microsoft.ML.Gwt.TestHost", "bin", baseDir.Parent!.Name, "net10.0", "Microsoft.ML.Gwt.TestHost.dll"));
        Assert.IsTrue(File.Exists(path), $"test host not built: {path}");
        return path;
    }

    private static Process Start(string checkpoint, string result, int hangAtStep = -1)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { HostDll(), Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin-qa.tsv.gz"), checkpoint, result, "2", hangAtStep.ToString() })
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
    [TestCategory(TestCategories.Process)]
    public void KilledMidEpochRunResumesToTheSameWeightsAsAnUninterruptedRun()
    {
        var (uninterrupted, _) = RunToEnd("-");
        int total = int.Parse(uninterrupted[1], System.Globalization.CultureInfo.InvariantCulture);
        int hang = total / 2 + 3; // in the second epoch, past at least one checkpoint of it or the first's last
        int checkpointStep = hang / 5 * 5;
        var folder = Directory.CreateTempSubdirectory("gwt-qa-resume-").FullName;
        try
        {
            RunKillAndResume(folder, hang, checkpointStep, uninterrupted);
        }
        finally
        {
            Directory.Delete(folder, recursive: true);
        }
    }

    private static void RunKillAndResume(string folder, int hang, int checkpointStep, string[] uninterrupted)
    {
        using (var victim = Start(folder, Path.GetTempFileName(), hangAtStep: hang))
        {
            string? line;
            while ((line = victim.StandardOutput.ReadLine()) is not null && line != $"step {hang}")
            {
            }
            Assert.AreEqual($"step {hang}", line);
            victim.Kill(entireProcessTree: true);
            victim.WaitForExit();
        }
        StringAssert.StartsWith(File.ReadAllText(Path.Combine(folder, "latest")).Trim(), $"step-{checkpointStep:D9}-");

        var (resumed, stdout) = RunToEnd(folder);
        Assert.AreEqual($"step {checkpointStep + 1}", stdout.First(l => l.StartsWith("step ", StringComparison.Ordinal)), "the resumed run continues after the checkpoint");
        Assert.AreEqual("True", resumed[2]);
        Assert.AreEqual(uninterrupted[1], resumed[1]);
        Assert.AreEqual(uninterrupted[0], resumed[0], "bit-identical final weights (SHA-256)");
    }
}
