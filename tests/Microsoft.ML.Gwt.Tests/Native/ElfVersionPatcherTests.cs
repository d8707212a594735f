using Microsoft.ML.Gwt.Native;

namespace Microsoft.ML.Gwt.Tests.Native;

[TestClass]
public sealed class ElfVersionPatcherTests
{
    /// <summary>The unpatched library as shipped in the TorchSharp package (the build output copy may be patched).</summary>
    private static byte[] ShippedLibrary()
    {
        var root = Environment.GetEnvironmentVariable("NUGET_PACKAGES");
        if (string.IsNullOrEmpty(root))
        {
            root = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        }
        var path = Path.Combine(root, "torchsharp", "0.107.0", "runtimes", "linux-x64", "native", "libLibTorchSharp.so");
        if (!File.Exists(path))
        {
            Assert.Inconclusive($"TorchSharp's package folder is not at {path}.");
        }
        return File.ReadAllBytes(path);
    }

    [TestMethod]
    public void ShippedLibraryRequiresGlibcxx3432Strongly()
    {
        var needs = ElfVersionPatcher.ReadVersionNeeds(ShippedLibrary());
        var need = needs.Single(n => n.Version == "GLIBCXX_3.4.32");
        Assert.AreEqual("libstdc++.so.6", need.File);
        Assert.IsFalse(need.Weak);
    }

    [TestMethod]
    public void RelaxingMarksOnlyTheMissingVersionWeak()
    {
        var image = ShippedLibrary();
        var original = (byte[])image.Clone();
        var relaxed = ElfVersionPatcher.RelaxVersionRequirements(image, "libstdc++.so.6", v => v == "GLIBCXX_3.4.32");
        CollectionAssert.AreEqual(new[] { "GLIBCXX_3.4.32" }, relaxed.ToArray());
        var needs = ElfVersionPatcher.ReadVersionNeeds(image);
        Assert.IsTrue(needs.Single(n => n.Version == "GLIBCXX_3.4.32").Weak);
        Assert.IsTrue(needs.Where(n => n.Version != "GLIBCXX_3.4.32").All(n => !n.Weak), "other requirements untouched");
        int changed = image.Zip(original).Count(p => p.First != p.Second);
        Assert.IsTrue(changed is > 0 and <= 4, $"{changed} bytes changed: the flag and one symbol's version index");
    }

    [TestMethod]
    public void NothingChangesWhenTheSystemLibraryHasEveryVersion()
    {
        var image = ShippedLibrary();
        var original = (byte[])image.Clone();
        var relaxed = ElfVersionPatcher.RelaxVersionRequirements(image, "libstdc++.so.6", _ => false);
        Assert.IsEmpty(relaxed);
        CollectionAssert.AreEqual(original, image);
    }

    [TestMethod]
    public void SystemLibstdcxxDefinitionsAreRead()
    {
        var path = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!File.Exists(path))
        {
            Assert.Inconclusive("No system libstdc++ at the Debian path.");
        }
        var defs = ElfVersionPatcher.ReadVersionDefinitions(File.ReadAllBytes(path));
        Assert.Contains("GLIBCXX_3.4", defs);
        Assert.Contains("CXXABI_1.3", defs);
    }

    [TestMethod]
    public void MalformedImagesAreFormatErrors()
    {
        Assert.ThrowsExactly<FormatException>(() => ElfVersionPatcher.ReadVersionNeeds(new byte[10]));
        var notElf = new byte[128];
        Assert.ThrowsExactly<FormatException>(() => ElfVersionPatcher.ReadVersionNeeds(notElf));
        var truncated = ShippedLibrary()[..4096];
        Assert.ThrowsExactly<FormatException>(() => ElfVersionPatcher.ReadVersionNeeds(truncated));
    }

    /// <summary>Every part of a status that is not a failure, as TorchSharpNative writes it; anchored, so a "failed: ..."
    /// status (even one whose message mentions patching) does not match.</summary>
    private static readonly System.Text.RegularExpressions.Regex SuccessfulStatus = new(
        @"^(?:not needed: not Linux|not needed: libstdc\+\+ not found|not needed: libLibTorchSharp\.so not found next to TorchSharp|" +
        @"(?:(?:not needed|patched in place \((?:[A-Z]+_[0-9.]+)(?:,[A-Z]+_[0-9.]+)*\)|patched copy): /[^;]*/libLibTorchSharp\.so)" +
        @"(?:; (?:(?:not needed|patched in place \((?:[A-Z]+_[0-9.]+)(?:,[A-Z]+_[0-9.]+)*\)|patched copy): /[^;]*/libLibTorchSharp\.so))*)$");

    [TestMethod]
    [DataRow("failed: could not write the patched copy of /tmp/x/libLibTorchSharp.so")]
    [DataRow("failed: not needed: /tmp/x/libLibTorchSharp.so")]
    [DataRow("not run")]
    [DataRow("patched in place (GLIBCXX_3.4.32): /tmp/x/libLibTorchSharp.so; failed: disk full")]
    [DataRow("")]
    public void StatusPatternRejectsFailures(string status) => Assert.IsFalse(SuccessfulStatus.IsMatch(status), status);

    [TestMethod]
    [DataRow("not needed: not Linux")]
    [DataRow("patched in place (GLIBCXX_3.4.32): /app/bin/libLibTorchSharp.so")]
    [DataRow("not needed: /a/libLibTorchSharp.so; patched copy: /home/u/.cache/Microsoft.ML.Gwt/native/abc/libLibTorchSharp.so")]
    public void StatusPatternAcceptsEachSuccess(string status) => Assert.IsTrue(SuccessfulStatus.IsMatch(status), status);

    [TestMethod]
    public void LoaderReportsWhatItDid()
    {
        using var t = TorchSharp.torch.ones(2);
        TorchSharpNative.EnsureLoadable();
        var status = TorchSharpNative.Status;
        Assert.IsTrue(SuccessfulStatus.IsMatch(status), status);
    }

    [TestMethod]
    public void EveryLoadedLibraryAsksTheSystemLibstdcxxOnlyForVersionsItDefines()
    {
        // Independently of the status text: every library the loader names now asks the system libstdc++ only for
        // versions the system defines (or asks weakly).
        const string stdcxx = "/usr/lib/x86_64-linux-gnu/libstdc++.so.6";
        if (!File.Exists(stdcxx))
        {
            Assert.Inconclusive($"No system libstdc++ at the Debian path {stdcxx}: the versions it defines cannot be read.");
        }
        using var t = TorchSharp.torch.ones(2);
        TorchSharpNative.EnsureLoadable();
        var status = TorchSharpNative.Status;
        var provided = ElfVersionPatcher.ReadVersionDefinitions(File.ReadAllBytes(stdcxx));
        var libraries = System.Text.RegularExpressions.Regex.Matches(status, @"(/[^;]*/libLibTorchSharp\.so)").Select(m => m.Value).ToList();
        Assert.IsNotEmpty(libraries, status);
        foreach (var library in libraries)
        {
            var unmet = ElfVersionPatcher.ReadVersionNeeds(File.ReadAllBytes(library))
                .Where(n => n.File == "libstdc++.so.6" && !n.Weak && !provided.Contains(n.Version)).Select(n => n.Version).ToList();
            Assert.IsEmpty(unmet, $"{library} still strongly needs {string.Join(", ", unmet)}");
        }
    }
}
