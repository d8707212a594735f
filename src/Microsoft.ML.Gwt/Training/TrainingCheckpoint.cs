using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.IO;

namespace Microsoft.ML.Gwt.Training;

/// <summary>A loaded checkpoint: where the run stands, and the best epoch's weights (CPU tensors the caller owns) when
/// early stopping kept them.</summary>
internal sealed record RestoredCheckpoint(TrainingPosition Position, Dictionary<string, Tensor>? BestWeights);

/// <summary>
/// Resumable-training checkpoints in a folder. Each checkpoint is a complete sub-folder (weights, optimizer state,
/// position, and a manifest with the run's fingerprint and SHA-256 checksums), written file by file through temporary
/// names; only then does the <c>latest</c> pointer move to it (also atomically) and older checkpoints get removed. The
/// best epoch's weights (early stopping) live beside them in <c>best-eNNNN.safetensors</c>, named by epoch and checked by the
/// manifest. A crash at any moment leaves <c>latest</c> pointing at a complete checkpoint; a damaged one is reported, not
/// loaded; one of another run (other data or options) is refused with the differing fields named.
/// </summary>
internal sealed class TrainingCheckpoint
{
    private const string Latest = "latest";
    private const string Manifest = "manifest.json";
    private readonly string _folder;
    private readonly TrainingFingerprint _fingerprint;
    private (string File, string Hash)? _best;

    public TrainingCheckpoint(string folder, TrainingFingerprint fingerprint)
    {
        _folder = Path.GetFullPath(folder);
        _fingerprint = fingerprint;
    }

    /// <summary>Writes a checkpoint. <paramref name="bestWeights"/> (the best epoch's, or null) are written once per best epoch.</summary>
    public void Save(nn.Module model, GwtAdam optimizer, TrainingPosition position, IReadOnlyDictionary<string, Tensor>? bestWeights)
    {
        var name = $"step-{position.Step:D9}-e{position.Epoch:D4}";
        var dir = Path.Combine(_folder, name);
        Directory.CreateDirectory(dir);
        var files = new Dictionary<string, string>();
        void Write(string file, Action<Stream> write)
        {
            var path = Path.Combine(dir, file);
            AtomicFile.Write(path, write);
            files[file] = Hash(path);
        }
        Write("weights.safetensors", s => SafeTensors.Save(s, model.state_dict()));
        Write("optimizer.bin", s =>
        {
            using var w = new BinaryWriter(s, System.Text.Encoding.UTF8, leaveOpen: true);
            optimizer.save_state_dict(w);
        });
        Write("position.json", s => JsonSerializer.Serialize(s, position));
        var best = SaveBest(position, bestWeights);
        var manifest = new ManifestData(new Dictionary<string, string>(_fingerprint.Fields), files, best?.File, best?.Hash);
        AtomicFile.WriteAllText(Path.Combine(dir, Manifest), JsonSerializer.Serialize(manifest));
        AtomicFile.WriteAllText(Path.Combine(_folder, Latest), name);
        RemoveAllBut(name, best?.File);
    }

    /// <summary>Loads the latest checkpoint into <paramref name="model"/> and <paramref name="optimizer"/>, if there is one.</summary>
    /// <exception cref="InvalidDataException">The checkpoint is damaged.</exception>
    /// <exception cref="InvalidOperationException">The checkpoint belongs to a run with other data or options (named).</exception>
    public RestoredCheckpoint? TryLoad(nn.Module model, GwtAdam optimizer)
    {
        var pointer = Path.Combine(_folder, Latest);
        if (!File.Exists(pointer))
        {
            return null;
        }
        var dir = Path.Combine(_folder, File.ReadAllText(pointer).Trim());
        var manifest = ReadManifest(dir);
        var differences = _fingerprint.Differences(TrainingFingerprint.FromFields(manifest.Fingerprint ?? new Dictionary<string, string>()));
        if (differences.Count > 0)
        {
            throw new InvalidOperationException(
                $"The checkpoint folder '{_folder}' holds a run with other data or options; it differs in: {string.Join("; ", differences)}. " +
                "Use another CheckpointFolder, or delete this one to start over.");
        }
        foreach (var (file, hash) in manifest.Files)
        {
            Verify(Path.Combine(dir, file), hash);
        }
        if (manifest.BestFile is not null)
        {
            Verify(Path.Combine(_folder, manifest.BestFile), manifest.BestHash ?? "");
        }
        var weightsPath = Path.Combine(dir, "weights.safetensors");
        using (var weights = File.OpenRead(weightsPath))
        {
            // Streamed tensor by tensor into the model's own parameters and buffers: no second copy of the weights.
            try
            {
                SafeTensors.ReadInto(weights, weights.Length, model.state_dict(), $"Checkpoint '{weightsPath}'");
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException(ex.Message, ex);
            }
        }
        using (var stream = File.OpenRead(Path.Combine(dir, "optimizer.bin")))
        using (var reader = new BinaryReader(stream))
        {
            optimizer.load_state_dict(reader, restoreHyperParameters: false);
        }
        var position = JsonSerializer.Deserialize<TrainingPosition>(File.ReadAllText(Path.Combine(dir, "position.json")))
            ?? throw new InvalidDataException($"Checkpoint '{dir}' has an empty position.json.");
        Dictionary<string, Tensor>? best = null;
        if (manifest.BestFile is not null)
        {
            best = SafeTensors.Load(Path.Combine(_folder, manifest.BestFile));
            _best = (manifest.BestFile, manifest.BestHash!);
        }
        return new RestoredCheckpoint(position, best);
    }

    private (string File, string Hash)? SaveBest(TrainingPosition position, IReadOnlyDictionary<string, Tensor>? bestWeights)
    {
        if (bestWeights is null || position.BestEpoch < 0)
        {
            return null;
        }
        var file = $"best-e{position.BestEpoch:D4}.safetensors";
        if (_best?.File != file)
        {
            var path = Path.Combine(_folder, file);
            AtomicFile.Write(path, s => SafeTensors.Save(s, bestWeights));
            _best = (file, Hash(path));
        }
        return _best;
    }

    private void RemoveAllBut(string checkpoint, string? bestFile)
    {
        var stale = Directory.GetDirectories(_folder, "step-*").Where(d => Path.GetFileName(d) != checkpoint)
            .Concat(Directory.GetFiles(_folder, "best-e*.safetensors").Where(f => Path.GetFileName(f) != bestFile));
        foreach (var old in stale)
        {
            try
            {
                if (Directory.Exists(old))
                {
                    Directory.Delete(old, recursive: true);
                }
                else
                {
                    File.Delete(old);
                }
            }
            catch (IOException)
            {
                // A later save removes it.
            }
        }
    }

    private ManifestData ReadManifest(string dir)
    {
        var manifestPath = Path.Combine(dir, Manifest);
        if (!File.Exists(manifestPath))
        {
            throw new InvalidDataException($"Checkpoint '{dir}' has no {Manifest}; the folder '{_folder}' is damaged.");
        }
        try
        {
            var manifest = JsonSerializer.Deserialize<ManifestData>(File.ReadAllText(manifestPath));
            if (manifest?.Files is null)
            {
                throw new InvalidDataException($"Checkpoint manifest '{manifestPath}' lists no files; it is damaged.");
            }
            return manifest;
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Checkpoint manifest '{manifestPath}' is damaged: {ex.Message}", ex);
        }
    }

    private static void Verify(string path, string hash)
    {
        if (!File.Exists(path) || Hash(path) != hash)
        {
            throw new InvalidDataException($"Checkpoint file '{path}' is missing or damaged (checksum mismatch); it was not loaded.");
        }
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    private sealed record ManifestData(Dictionary<string, string>? Fingerprint, Dictionary<string, string> Files, string? BestFile, string? BestHash);
}
