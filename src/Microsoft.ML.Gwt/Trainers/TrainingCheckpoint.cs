using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Where a run stands: the next epoch and batch to train, steps taken, early-stopping state and history.</summary>
internal sealed record TrainingPosition
{
    public int Epoch { get; init; }
    public int Batch { get; init; }
    public long Step { get; init; }
    public double BestAccuracy { get; init; } = -1;
    public int BestEpoch { get; init; } = -1;
    public long SkippedSteps { get; init; }
    public double[] TrainingLoss { get; init; } = Array.Empty<double>();
    public double[] ValidationLoss { get; init; } = Array.Empty<double>();
    public double[] ValidationAccuracy { get; init; } = Array.Empty<double>();
}

/// <summary>
/// Resumable-training checkpoints in a folder. Each checkpoint is a complete sub-folder (weights, optimizer state,
/// position, and a manifest of SHA-256 checksums), written file by file through temporary names; only then does the
/// <c>latest</c> pointer move to it (also atomically) and older checkpoints get removed. A crash at any moment leaves
/// <c>latest</c> pointing at a complete checkpoint; a damaged one is reported, not loaded.
/// </summary>
internal sealed class TrainingCheckpoint
{
    private const string Latest = "latest";
    private const string Manifest = "manifest.json";
    private readonly string _folder;
    private readonly string _fingerprint;

    public TrainingCheckpoint(string folder, string fingerprint)
    {
        _folder = Path.GetFullPath(folder);
        _fingerprint = fingerprint;
    }

    public void Save(TextClassificationModel model, GwtAdam optimizer, TrainingPosition position)
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
        AtomicFile.WriteAllText(Path.Combine(dir, Manifest), JsonSerializer.Serialize(new ManifestData(_fingerprint, files)));
        AtomicFile.WriteAllText(Path.Combine(_folder, Latest), name);
        foreach (var old in Directory.GetDirectories(_folder, "step-*").Where(d => Path.GetFileName(d) != name))
        {
            try
            {
                Directory.Delete(old, recursive: true);
            }
            catch (IOException)
            {
                // A later save removes it.
            }
        }
    }

    /// <summary>Loads the latest checkpoint, if any. Throws <see cref="InvalidDataException"/> when it is damaged or
    /// belongs to a run with other options or data.</summary>
    public bool TryLoad(TextClassificationModel model, GwtAdam optimizer, out TrainingPosition position)
    {
        position = new TrainingPosition();
        var pointer = Path.Combine(_folder, Latest);
        if (!File.Exists(pointer))
        {
            return false;
        }
        var dir = Path.Combine(_folder, File.ReadAllText(pointer).Trim());
        var manifestPath = Path.Combine(dir, Manifest);
        if (!File.Exists(manifestPath))
        {
            throw new InvalidDataException($"Checkpoint '{dir}' has no {Manifest}; the folder '{_folder}' is damaged.");
        }
        ManifestData manifest;
        try
        {
            manifest = JsonSerializer.Deserialize<ManifestData>(File.ReadAllText(manifestPath)) ?? throw new InvalidDataException("null manifest");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"Checkpoint manifest '{manifestPath}' is damaged: {ex.Message}", ex);
        }
        if (manifest.Fingerprint != _fingerprint)
        {
            throw new InvalidDataException(
                $"The checkpoint folder '{_folder}' holds a run with other options or data; use another CheckpointFolder or delete it to start over.");
        }
        foreach (var (file, hash) in manifest.Files)
        {
            var path = Path.Combine(dir, file);
            if (!File.Exists(path) || Hash(path) != hash)
            {
                throw new InvalidDataException($"Checkpoint file '{path}' is missing or damaged (checksum mismatch); it was not loaded.");
            }
        }
        var weightsPath = Path.Combine(dir, "weights.safetensors");
        CheckpointLoader.LoadExact(model, SafeTensors.Load(weightsPath), model.EncoderPrefix, $"Checkpoint '{weightsPath}'");
        using (var stream = File.OpenRead(Path.Combine(dir, "optimizer.bin")))
        using (var reader = new BinaryReader(stream))
        {
            optimizer.load_state_dict(reader);
        }
        position = JsonSerializer.Deserialize<TrainingPosition>(File.ReadAllText(Path.Combine(dir, "position.json")))
            ?? throw new InvalidDataException($"Checkpoint '{dir}' has an empty position.json.");
        return true;
    }

    private static string Hash(string path)
    {
        using var stream = File.OpenRead(path);
        return Convert.ToHexString(SHA256.HashData(stream));
    }

    private sealed record ManifestData(string Fingerprint, Dictionary<string, string> Files);
}
