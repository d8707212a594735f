using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Core.IO;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>
/// Writes a pre-trained model as a Hugging Face folder that <c>AutoModelForMaskedLM.from_pretrained</c>,
/// <c>AutoTokenizer.from_pretrained</c> and our own loaders (<c>PretrainedModelPath</c>,
/// <see cref="TransformerTextEncoder.FromPretrained"/>) read: <c>config.json</c> (with <c>architectures</c>),
/// <c>model.safetensors</c> with Hugging Face's key names, the tokenizer files and <c>tokenizer_config.json</c>.
/// The folder is assembled under a temporary name beside the target and then renamed into place, so a crash never
/// leaves a half-written checkpoint where a complete one stood.
/// </summary>
public static class HuggingFaceFolder
{
    /// <summary>Tokenizer files copied from a source checkpoint folder when they are present.</summary>
    private static readonly string[] TokenizerFiles =
    {
        "tokenizer.json", "vocab.txt", "vocab.json", "merges.txt", "sentencepiece.bpe.model", "spm.model",
        "tokenizer_config.json", "special_tokens_map.json", "added_tokens.json",
    };

    /// <summary>Writes <paramref name="model"/> and its tokenizer to <paramref name="folder"/> (replacing it).</summary>
    /// <param name="folder">The checkpoint folder to write.</param>
    /// <param name="model">The model.</param>
    /// <param name="tokenizer">The tokenizer: its files are copied from <paramref name="tokenizerSource"/>; without a
    /// source, a fitted <see cref="WordPieceTextTokenizer"/> is written as <c>vocab.txt</c>.</param>
    /// <param name="tokenizerSource">The checkpoint folder the tokenizer was read from, or null for a fitted one.</param>
    /// <param name="maxLength">The sequence length trained (<c>model_max_length</c>).</param>
    public static void Write(string folder, MaskedLanguageModel model, TextTokenizer tokenizer, string? tokenizerSource, int maxLength)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(model);
        ArgumentNullException.ThrowIfNull(tokenizer);
        var target = Path.GetFullPath(folder.TrimEnd(Path.DirectorySeparatorChar, Path.AltDirectorySeparatorChar));
        var parent = Path.GetDirectoryName(target)!;
        Directory.CreateDirectory(parent);
        var staging = Path.Combine(parent, $".{Path.GetFileName(target)}.{Environment.ProcessId}.{Guid.NewGuid():N}.tmp");
        Directory.CreateDirectory(staging);
        try
        {
            AtomicFile.WriteAllText(Path.Combine(staging, "config.json"), ConfigJson(model));
            AtomicFile.Write(Path.Combine(staging, "model.safetensors"), s => SafeTensors.Save(s, model.state_dict()));
            WriteTokenizer(staging, tokenizer, tokenizerSource, maxLength);
            Swap(staging, target);
        }
        catch
        {
            TryDelete(staging);
            throw;
        }
    }

    /// <summary><c>config.json</c>: the encoder's configuration with Hugging Face's <c>architectures</c>.</summary>
    internal static string ConfigJson(MaskedLanguageModel model)
    {
        var node = JsonNode.Parse(model.Config.ToJson())!.AsObject();
        node["architectures"] = new JsonArray(model.ArchitectureName);
        node["position_embedding_type"] = "absolute";
        node["torch_dtype"] = "float32";
        return node.ToJsonString(new JsonSerializerOptions { WriteIndented = true });
    }

    private static void WriteTokenizer(string folder, TextTokenizer tokenizer, string? source, int maxLength)
    {
        if (source is null && tokenizer is WordPieceTextTokenizer wordPiece)
        {
            AtomicFile.WriteAllText(Path.Combine(folder, "vocab.txt"), wordPiece.VocabularyText);
            var config = new JsonObject
            {
                ["tokenizer_class"] = "BertTokenizer",
                ["do_lower_case"] = wordPiece.LowerCase,
                ["strip_accents"] = null,
                ["tokenize_chinese_chars"] = true,
                ["model_max_length"] = maxLength,
                ["unk_token"] = "[UNK]",
                ["sep_token"] = "[SEP]",
                ["pad_token"] = "[PAD]",
                ["cls_token"] = "[CLS]",
                ["mask_token"] = "[MASK]",
            };
            AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), config.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            var specials = new JsonObject
            {
                ["unk_token"] = "[UNK]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]", ["cls_token"] = "[CLS]", ["mask_token"] = "[MASK]",
            };
            AtomicFile.WriteAllText(Path.Combine(folder, "special_tokens_map.json"), specials.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
            return;
        }
        if (source is null)
        {
            throw new NotSupportedException($"A {tokenizer.Kind} tokenizer without a source folder cannot be written as Hugging Face files.");
        }
        foreach (var name in TokenizerFiles)
        {
            var path = Path.Combine(source, name);
            if (File.Exists(path))
            {
                var bytes = File.ReadAllBytes(path);
                AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
            }
        }
    }

    /// <summary>Moves <paramref name="staging"/> to <paramref name="target"/>; an existing target is moved aside first
    /// and deleted only after the new folder is in place.</summary>
    private static void Swap(string staging, string target)
    {
        string? old = null;
        if (Directory.Exists(target))
        {
            old = Path.Combine(Path.GetDirectoryName(target)!, $".{Path.GetFileName(target)}.{Guid.NewGuid():N}.old");
            Directory.Move(target, old);
        }
        try
        {
            Directory.Move(staging, target);
        }
        catch
        {
            if (old is not null)
            {
                Directory.Move(old, target);
            }
            throw;
        }
        if (old is not null)
        {
            TryDelete(old);
        }
    }

    private static void TryDelete(string dir)
    {
        try
        {
            if (Directory.Exists(dir))
            {
                Directory.Delete(dir, recursive: true);
            }
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Best effort: the temporary name never shadows the target.
        }
    }
}
