using System.Diagnostics;

namespace Microsoft.ML.Gwt.Tests.Reliability;

[TestClass]
public sealed class ResumeAfterKillTests
{
    private static string HostDll()
    {
        var baseDir = new DirectoryInfo(AppContext.BaseDirectory); // tests/Microsoft.ML.Gwt.Tests/bin/<Config>/net10.0/
        var config = baseDir.Parent!.Name;
        var path = Path.GetFullPath(Path.Combine(baseDir.FullName, "..", "..", "..", "..", "Microsoft.ML.Gwt.TestHost", "bin", config, "net10.0", "Microsoft.ML.Gwt.TestHost.dll"));
        Assert.IsTrue(File.Exists(path), $"test host not built: {path}");
        return path;
    }

    private static Process Start(string checkpoint, string result, bool stream, int hangAtStep = -1)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { HostDll(), Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin.tsv.gz"), checkpoint, result, "2", hangAtStep.ToString(), stream ? "stream" : "cached" })
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    private static (string Result, string[] Stdout) RunToEnd(string checkpoint, bool stream)
    {
        var result = Path.GetTempFileName();
        using var p = Start(checkpoint, result, stream);
        var stderr = p.StandardError.ReadToEndAsync();
        var stdout = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode, stderr.Result);
        return (File.ReadAllText(result), stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
    }

    [TestMethod]
    [TestCategory(TestCategories.Process)] // the TestHost child, run, killed and resumed
    [DataRow(false, DisplayName = "rows cached in memory")]
    [DataRow(true, DisplayName = "streamed: source's shuffling cursor, a 16-row pool, length-grouping windows of 2 batches")]
    public void KilledMidEpochRunResumesToTheSameWeightsAsAnUninterruptedRun(bool stream)
    {
        // 96 rows in batches of 8: 12 steps per epoch, 2 epochs, a checkpoint every 5 steps. The child stops after step 17
        // and is killed there, so the latest checkpoint is step 15: epoch 2, batch 3 (mid-epoch, not a boundary).
        var uninterrupted = RunToEnd("-", stream).Result.Split(' ');

        var folder = Directory.CreateTempSubdirectory("gwt-resume-").FullName;
        using (var victim = Start(folder, Path.GetTempFileName(), stream, hangAtStep: 17))
        {
            string? line;
            while ((line = victim.StandardOutput.ReadLine()) is not null && line != "step 17")
            {
            }
            Assert.AreEqual("step 17", line, "the child should reach step 17");
            victim.Kill(entireProcessTree: true); // SIGKILL on Linux: no cleanup runs
            victim.WaitForExit();
            Assert.AreNotEqual(0, victim.ExitCode);
        }
        Assert.AreEqual("step-000000015-e0001", File.ReadAllText(Path.Combine(folder, "latest")).Trim(), "killed after the mid-epoch checkpoint of step 15");

        var (result, stdout) = RunToEnd(folder, stream);
        var resumed = result.Split(' ');
        Assert.AreEqual("step 16", stdout.First(l => l.StartsWith("step ", StringComparison.Ordinal)), "the resumed run continues at step 16, mid-epoch");
        Assert.AreEqual("True", resumed[2], "the second run resumed from the checkpoint");
        Assert.AreEqual("24", uninterrupted[1]);
        Assert.AreEqual(uninterrupted[1], resumed[1], "same number of steps");
        Assert.AreEqual(uninterrupted[0], resumed[0], "bit-identical final weights (SHA-256)");
    }
}
