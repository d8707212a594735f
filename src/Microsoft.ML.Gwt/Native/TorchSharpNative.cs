using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;

namespace Microsoft.ML.Gwt.Native;

/// <summary>
/// Makes TorchSharp's native library loadable on Linux systems whose libstdc++ is older than the one
/// <c>libLibTorchSharp.so</c> was linked against (Debian 12 ships GCC 12's; TorchSharp 0.107 asks for GCC 13's
/// <c>GLIBCXX_3.4.32</c>). It runs by itself when this assembly loads, and a consuming application gets a module
/// initializer from our <c>buildTransitive</c> targets that calls <see cref="EnsureLoadable"/> before <c>Main</c>.
/// </summary>
/// <remarks>
/// Where the system libstdc++ already defines every version the library asks for, nothing is read or written.
/// Otherwise the copy of <c>libLibTorchSharp.so</c> in the application's output is patched in place (written to a
/// temporary name, then renamed), see <see cref="ElfVersionPatcher"/>. If that folder is read-only, a patched copy is
/// written to the per-user cache (<c>$XDG_CACHE_HOME</c> or <c>~/.cache</c>, under <c>Microsoft.ML.Gwt/native</c>)
/// and TorchSharp's imports are redirected to it.
/// </remarks>
public static class TorchSharpNative
{
    private const string LibraryFile = "libLibTorchSharp.so";
    private const string StdCxx = "libstdc++.so.6";
    private static readonly object Gate = new();
    private static string? _status;
    private static Exception? _failure;
    private static IntPtr _redirected;

    /// <summary>What the last call did, for diagnostics (for example "not needed" or "patched in place: path").</summary>
    public static string Status => _status ?? "not run";

    /// <summary>
    /// Applies the libstdc++ compatibility fix if this system needs it. Safe to call many times and from many threads.
    /// </summary>
    /// <exception cref="InvalidOperationException">The fix was needed but could not be applied; the message says why.</exception>
    public static void EnsureLoadable()
    {
        lock (Gate)
        {
            if (_status is null)
            {
                try
                {
                    _status = Apply();
                }
                catch (Exception ex)
                {
                    _failure = ex;
                    _status = "failed: " + ex.Message;
                }
            }
            if (_failure is not null)
            {
                throw new InvalidOperationException(
                    "Microsoft.ML.Gwt could not make TorchSharp's native library loadable on this system: " + _failure.Message +
                    " Install a libstdc++ from GCC 13 or later, or make the application's output folder writable.", _failure);
            }
        }
    }

#pragma warning disable CA2255 // A module initializer is the point: it must run before the first TorchSharp call.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void OnAssemblyLoad()
    {
        try
        {
            EnsureLoadable();
        }
        catch (InvalidOperationException ex)
        {
            // Never fail the assembly load itself; TorchSharp's own error follows, and this says why.
            Console.Error.WriteLine("warning: " + ex.Message);
        }
    }

    private static string Apply()
    {
        if (!OperatingSystem.IsLinux())
        {
            return "not needed: not Linux";
        }
        var stdcxxPath = FindLoadedStdCxx();
        if (stdcxxPath is null)
        {
            return "not needed: libstdc++ not found";
        }
        var provided = ElfVersionPatcher.ReadVersionDefinitions(File.ReadAllBytes(stdcxxPath));
        var libraries = CandidateDirectories().Select(d => Path.Combine(d, LibraryFile)).Where(File.Exists).Distinct().ToList();
        if (libraries.Count == 0)
        {
            return "not needed: " + LibraryFile + " not found next to TorchSharp";
        }

        var notes = new List<string>();
        foreach (var path in libraries)
        {
            var image = File.ReadAllBytes(path);
            bool needsFix = ElfVersionPatcher.ReadVersionNeeds(image).Any(n => n.File == StdCxx && !n.Weak && !provided.Contains(n.Version));
            if (!needsFix)
            {
                notes.Add("not needed: " + path);
                continue;
            }
            var relaxed = ElfVersionPatcher.RelaxVersionRequirements(image, StdCxx, v => !provided.Contains(v));
            if (TryReplaceAtomically(path, image))
            {
                notes.Add($"patched in place ({string.Join(",", relaxed)}): {path}");
            }
            else
            {
                notes.Add("patched copy: " + RedirectToCachedCopy(path, image));
            }
        }
        return string.Join("; ", notes);
    }

    private static IEnumerable<string> CandidateDirectories()
    {
        var torchSharp = TryLoadTorchSharpAssembly();
        if (torchSharp is not null && !string.IsNullOrEmpty(torchSharp.Location))
        {
            var dir = Path.GetDirectoryName(torchSharp.Location)!;
            yield return dir;
            yield return Path.Combine(dir, "runtimes", "linux-x64", "native");
        }
        if (AppContext.GetData("NATIVE_DLL_SEARCH_DIRECTORIES") is string dirs)
        {
            foreach (var d in dirs.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                yield return d;
            }
        }
        yield return AppContext.BaseDirectory;
    }

    private static Assembly? TryLoadTorchSharpAssembly()
    {
        try
        {
            return Assembly.Load(new AssemblyName("TorchSharp"));
        }
        catch (IOException)
        {
            return null;
        }
    }

    private static string? FindLoadedStdCxx()
    {
        if (!NativeLibrary.TryLoad(StdCxx, out _))
        {
            return null;
        }
        foreach (var line in File.ReadLines("/proc/self/maps"))
        {
            int slash = line.IndexOf('/');
            if (slash >= 0 && Path.GetFileName(line.AsSpan(slash)).StartsWith(StdCxx, StringComparison.Ordinal))
            {
                return line[slash..];
            }
        }
        return null;
    }

    private static bool TryReplaceAtomically(string path, byte[] image)
    {
        var temp = $"{path}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp";
        try
        {
            File.WriteAllBytes(temp, image);
            File.Move(temp, path, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is UnauthorizedAccessException or IOException)
        {
            try
            {
                File.Delete(temp);
            }
            catch (Exception cleanup) when (cleanup is UnauthorizedAccessException or IOException)
            {
                // Nothing was written, or it cannot be removed; either way the original is untouched.
            }
            return false;
        }
    }

    private static string RedirectToCachedCopy(string original, byte[] image)
    {
        var cacheRoot = Environment.GetEnvironmentVariable("XDG_CACHE_HOME");
        if (string.IsNullOrEmpty(cacheRoot))
        {
            cacheRoot = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".cache");
        }
        var dir = Path.Combine(cacheRoot, "Microsoft.ML.Gwt", "native", Convert.ToHexString(SHA256.HashData(image))[..16]);
        Directory.CreateDirectory(dir);
        var target = Path.Combine(dir, LibraryFile);
        if (!File.Exists(target) || new FileInfo(target).Length != image.Length)
        {
            if (!TryReplaceAtomically(target, image))
            {
                throw new IOException($"Neither '{original}' nor the cache folder '{dir}' is writable.");
            }
        }

        // The copy's $ORIGIN no longer finds libtorch: load its dependencies from the original folder first.
        var originalDir = Path.GetDirectoryName(original)!;
        foreach (var dependency in new[] { "libc10.so", "libtorch_cpu.so", "libtorch.so" })
        {
            var candidate = Path.Combine(originalDir, dependency);
            if (File.Exists(candidate))
            {
                NativeLibrary.Load(candidate);
            }
        }
        _redirected = NativeLibrary.Load(target);
        var torchSharp = TryLoadTorchSharpAssembly() ?? throw new IOException("TorchSharp assembly not found.");
        NativeLibrary.SetDllImportResolver(torchSharp, (name, _, _) =>
            name is "LibTorchSharp" or "libLibTorchSharp" or LibraryFile ? _redirected : IntPtr.Zero);
        return target;
    }
}
