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

    private static Process Start(string checkpoint, string result)
    {
        var psi = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { HostDll(), Path.Combine(AppContext.BaseDirectory, "TestData", "spamassassin.tsv.gz"), checkpoint, result })
        {
            psi.ArgumentList.Add(a);
        }
        return Process.Start(psi)!;
    }

    private static string RunToEnd(string checkpoint)
    {
        var result = Path.GetTempFileName();
        using var p = Start(checkpoint, result);
        var stderr = p.StandardError.ReadToEndAsync();
        p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        Assert.AreEqual(0, p.ExitCode, stderr.Result);
        return File.ReadAllText(result);
    }

    [TestMethod]
    public void KilledRunResumesToTheSameWeightsAsAnUninterruptedRun()
    {
        var uninterrupted = RunToEnd("-").Split(' ');

        var folder = Directory.CreateTempSubdirectory("gwt-resume-").FullName;
        using (var victim = Start(folder, Path.GetTempFileName()))
        {
            string? line;
            while ((line = victim.StandardOutput.ReadLine()) is not null && line != "step 13")
            {
            }
            Assert.AreEqual("step 13", line, "the child should reach step 13");
            victim.Kill(entireProcessTree: true); // SIGKILL on Linux: no cleanup runs
            victim.WaitForExit();
            Assert.AreNotEqual(0, victim.ExitCode);
        }
        Assert.IsTrue(File.Exists(Path.Combine(folder, "latest")), "a checkpoint was written before the kill");

        var resumed = RunToEnd(folder).Split(' ');
        Assert.AreEqual("True", resumed[2], "the second run resumed from the checkpoint");
        Assert.AreEqual(uninterrupted[1], resumed[1], "same number of steps");
        Assert.AreEqual(uninterrupted[0], resumed[0], "bit-identical final weights (SHA-256)");
    }
}
