namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>
/// A checkpoint folder assembled under a temporary name beside its target (same file system, so the final rename is
/// atomic) and renamed into place only once it is complete and verified: an import that fails, or a process that dies,
/// never leaves a half-written folder under the target's name. An existing target is moved aside first, restored if
/// the rename fails, and deleted afterwards.
/// </summary>
internal sealed class CheckpointStaging
{
    private bool _committed;

    private CheckpointStaging(string target, string path)
    {
        Target = target;
        Path = path;
    }

    /// <summary>The folder that <see cref="Commit"/> writes.</summary>
    public string Target { get; }

    /// <summary>The temporary folder to write into.</summary>
    public string Path { get; }

    /// <summary>Creates the temporary folder beside <paramref name="target"/>.</summary>
    public static CheckpointStaging Begin(string target)
    {
        var full = System.IO.Path.GetFullPath(target.TrimEnd(System.IO.Path.DirectorySeparatorChar, System.IO.Path.AltDirectorySeparatorChar));
        if (File.Exists(full))
        {
            throw new IOException($"'{full}' is a file; the import writes a checkpoint folder there.");
        }
        var parent = System.IO.Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(parent);
        var staging = System.IO.Path.Combine(parent, $".{System.IO.Path.GetFileName(full)}.import-{Environment.ProcessId}-{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        return new CheckpointStaging(full, staging);
    }

    /// <summary>Renames the temporary folder to <see cref="Target"/>, replacing an existing folder.</summary>
    public void Commit()
    {
        string? previous = null;
        if (Directory.Exists(Target))
        {
            previous = $"{Path}.previous";
            Directory.Move(Target, previous);
        }
        try
        {
            Directory.Move(Path, Target);
            _committed = true;
        }
        catch when (previous is not null)
        {
            Directory.Move(previous, Target);
            throw;
        }
        if (previous is not null)
        {
            DeleteQuietly(previous);
        }
    }

    /// <summary>Deletes the temporary folder unless it was committed.</summary>
    public void Abandon()
    {
        if (!_committed)
        {
            DeleteQuietly(Path);
        }
    }

    private static void DeleteQuietly(string folder)
    {
        try
        {
            if (Directory.Exists(folder))
            {
                Directory.Delete(folder, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: a leftover has a dot-name and never shadows the target.
        }
    }
}
