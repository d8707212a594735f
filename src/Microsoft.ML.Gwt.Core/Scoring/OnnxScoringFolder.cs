using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.ML.Gwt.Core.IO;
using Microsoft.ML.Gwt.Core.Tokenization;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// The folder a trained model is exported to for ONNX Runtime scoring: <c>model.onnx</c> (the graph),
/// <c>tokenizer.bin</c> (the tokenizer, <see cref="TextTokenizer.Save"/>), <c>labels.bin</c> (the label values in their
/// own type, when the label had key values) and <c>gwt-onnx.json</c> (settings, label names as text, and a SHA-256 of
/// every other file). The JSON is written last and each file through a temporary name, so an interrupted export leaves
/// no folder that loads; loading checks every hash and names the file that does not match.
/// </summary>
public static class OnnxScoringFolder
{
    /// <summary>The ONNX graph's file name.</summary>
    public const string GraphFile = "model.onnx";

    /// <summary>The tokenizer's file name.</summary>
    public const string TokenizerFile = "tokenizer.bin";

    /// <summary>The label values' file name.</summary>
    public const string LabelsFile = "labels.bin";

    /// <summary>The manifest's file name (written last).</summary>
    public const string ManifestFile = "gwt-onnx.json";

    private const int Format = 1;

    /// <summary>Writes the folder (created when missing; files of an earlier export are replaced).</summary>
    public static void Write(string folder, byte[] graph, TextTokenizer tokenizer, TextClassifierSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        Directory.CreateDirectory(folder);
        var hashes = new JsonObject();
        void Put(string name, byte[] bytes)
        {
            AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
            hashes[name] = Convert.ToHexString(ModelChecksums.Hash(bytes));
        }
        Put(GraphFile, graph);
        Put(TokenizerFile, ModelPartWriter.Bytes(tokenizer.Save));
        if (settings.Labels is not null)
        {
            Put(LabelsFile, ModelPartWriter.Bytes(settings.Labels.Save));
        }
        else
        {
            File.Delete(Path.Combine(folder, LabelsFile));
        }
        var manifest = new JsonObject
        {
            ["format"] = Format,
            ["sentence1"] = settings.Sentence1,
            ["sentence2"] = settings.Sentence2,
            ["scoreColumn"] = settings.ScoreColumn,
            ["predictedLabelColumn"] = settings.PredictedLabelColumn,
            ["maxSequenceLength"] = settings.MaxSequenceLength,
            ["scoringBatchSize"] = settings.ScoringBatchSize,
            ["classes"] = settings.Classes,
            ["labelNames"] = settings.Labels is null ? null : new JsonArray(settings.Labels.ToText().Select(n => (JsonNode?)n).ToArray()),
            ["sha256"] = hashes,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ManifestFile), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The manifest's task of a regressor's folder (a classifier's manifest has no task field).</summary>
    public const string SentenceSimilarityTask = "sentence-similarity";

    /// <summary>Writes a text regressor's folder (a sentence-similarity model; no label values): the manifest says its
    /// task, so the classifier's <see cref="Read"/> refuses it and <see cref="ReadRegressor"/> reads it.</summary>
    public static void WriteRegressor(string folder, byte[] graph, TextTokenizer tokenizer, TextRegressorSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(folder);
        var hashes = new JsonObject();
        void Put(string name, byte[] bytes)
        {
            AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
            hashes[name] = Convert.ToHexString(ModelChecksums.Hash(bytes));
        }
        Put(GraphFile, graph);
        Put(TokenizerFile, ModelPartWriter.Bytes(tokenizer.Save));
        File.Delete(Path.Combine(folder, LabelsFile));
        var manifest = new JsonObject
        {
            ["format"] = Format,
            ["task"] = SentenceSimilarityTask,
            ["sentence1"] = settings.Sentence1,
            ["sentence2"] = settings.Sentence2,
            ["scoreColumn"] = settings.ScoreColumn,
            ["maxSequenceLength"] = settings.MaxSequenceLength,
            ["scoringBatchSize"] = settings.ScoringBatchSize,
            ["sha256"] = hashes,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ManifestFile), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>The manifest's task of a question-answering folder.</summary>
    public const string QuestionAnswerTask = "question-answering";

    /// <summary>The question-answering settings' file (<see cref="QuestionAnswering.QuestionAnswerSettings.Write"/>).</summary>
    public const string QuestionAnswerSettingsFile = "question-answering.bin";

    /// <summary>Writes a question-answering model's folder: the graph (output <c>span_logits</c>), the tokenizer, the
    /// settings (columns, top-k, window layout) and the manifest with a SHA-256 of each file, written last.</summary>
    public static void WriteQuestionAnswer(string folder, byte[] graph, TextTokenizer tokenizer, QuestionAnswering.QuestionAnswerSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(folder);
        var hashes = new JsonObject();
        foreach (var (name, bytes) in new[] { (GraphFile, graph), (TokenizerFile, ModelPartWriter.Bytes(tokenizer.Save)), (QuestionAnswerSettingsFile, ModelPartWriter.Bytes(settings.Write)) })
        {
            AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
            hashes[name] = Convert.ToHexString(ModelChecksums.Hash(bytes));
        }
        var manifest = new JsonObject { ["format"] = Format, ["task"] = QuestionAnswerTask, ["sha256"] = hashes };
        AtomicFile.WriteAllText(Path.Combine(folder, ManifestFile), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads a folder written by <see cref="WriteQuestionAnswer"/>, verifying each file's SHA-256.</summary>
    /// <exception cref="InvalidDataException">A file is damaged, or the folder holds another task's model; the message names it.</exception>
    public static (byte[] Graph, TextTokenizer Tokenizer, QuestionAnswering.QuestionAnswerSettings Settings) ReadQuestionAnswer(string folder) =>
        Open(folder, QuestionAnswerTask, (root, manifestPath, verified) =>
        {
            var graph = verified(GraphFile);
            var tokenizer = Parse(verified(TokenizerFile), Path.Combine(folder, TokenizerFile), TextTokenizer.Load);
            var settings = Parse(verified(QuestionAnswerSettingsFile), Path.Combine(folder, QuestionAnswerSettingsFile), QuestionAnswering.QuestionAnswerSettings.Read);
            settings.Validate($"'{manifestPath}'");
            return (graph, tokenizer, settings);
        });

    /// <summary>Reads and verifies a folder written by <see cref="WriteRegressor"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file of the folder is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file does not match its SHA-256, the manifest is malformed, or the folder
    /// holds a classifier; the message names the file.</exception>
    public static (byte[] Graph, TextTokenizer Tokenizer, TextRegressorSettings Settings) ReadRegressor(string folder) =>
        Open(folder, SentenceSimilarityTask, (root, manifestPath, verified) =>
        {
            var graph = verified(GraphFile);
            var tokenizer = Parse(verified(TokenizerFile), Path.Combine(folder, TokenizerFile), TextTokenizer.Load);
            var settings = new TextRegressorSettings(root["sentence1"]!.GetValue<string>(), root["sentence2"]?.GetValue<string>(),
                root["scoreColumn"]!.GetValue<string>(), root["maxSequenceLength"]!.GetValue<int>(), root["scoringBatchSize"]!.GetValue<int>());
            settings.Validate($"'{manifestPath}'");
            return (graph, tokenizer, settings);
        });

    /// <summary>The manifest's task of a token classifier's folder (named entity recognition).</summary>
    public const string NamedEntityRecognitionTask = "named-entity-recognition";

    /// <summary>Writes a token classifier's folder (a named-entity-recognition model): the graph, the tokenizer, the tags
    /// (<c>labels.bin</c>, in the label's own type) and the manifest with its task, so the other tasks' readers refuse
    /// it and <see cref="ReadTokenClassifier"/> reads it.</summary>
    public static void WriteTokenClassifier(string folder, byte[] graph, TextTokenizer tokenizer, TokenClassifierSettings settings)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        ArgumentNullException.ThrowIfNull(graph);
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(settings);
        Directory.CreateDirectory(folder);
        var files = new[] { (GraphFile, graph), (TokenizerFile, ModelPartWriter.Bytes(tokenizer.Save)), (LabelsFile, ModelPartWriter.Bytes(settings.Tags.Save)) };
        var hashes = new JsonObject();
        foreach (var (name, bytes) in files)
        {
            AtomicFile.WriteAllBytes(Path.Combine(folder, name), bytes);
            hashes[name] = Convert.ToHexString(ModelChecksums.Hash(bytes));
        }
        var manifest = new JsonObject
        {
            ["format"] = Format,
            ["task"] = NamedEntityRecognitionTask,
            ["sentence"] = settings.Sentence,
            ["outputColumn"] = settings.OutputColumn,
            ["maxSequenceLength"] = settings.MaxSequenceLength,
            ["scoringBatchSize"] = settings.ScoringBatchSize,
            ["fallbackKey"] = settings.FallbackKey,
            ["tags"] = settings.Tags.Count,
            ["tagNames"] = new JsonArray(settings.Tags.ToText().Select(n => (JsonNode?)n).ToArray()),
            ["sha256"] = hashes,
        };
        AtomicFile.WriteAllText(Path.Combine(folder, ManifestFile), manifest.ToJsonString(new JsonSerializerOptions { WriteIndented = true }));
    }

    /// <summary>Reads and verifies a folder written by <see cref="WriteTokenClassifier"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file of the folder is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file does not match its SHA-256, the manifest is malformed, or the folder
    /// holds another task's model; the message names the file.</exception>
    public static (byte[] Graph, TextTokenizer Tokenizer, TokenClassifierSettings Settings) ReadTokenClassifier(string folder) =>
        Open(folder, NamedEntityRecognitionTask, (root, manifestPath, verified) =>
        {
            var graph = verified(GraphFile);
            var tokenizer = Parse(verified(TokenizerFile), Path.Combine(folder, TokenizerFile), TextTokenizer.Load);
            int tags = root["tags"]!.GetValue<int>();
            var keys = Parse(verified(LabelsFile), Path.Combine(folder, LabelsFile), r => LabelKeys.Load(r, tags));
            var settings = new TokenClassifierSettings(root["sentence"]!.GetValue<string>(), root["outputColumn"]!.GetValue<string>(),
                root["maxSequenceLength"]!.GetValue<int>(), root["scoringBatchSize"]!.GetValue<int>(), root["fallbackKey"]!.GetValue<int>(), keys);
            settings.Validate($"'{manifestPath}'");
            return (graph, tokenizer, settings);
        });

    /// <summary>Reads and verifies a folder written by <see cref="Write"/>.</summary>
    /// <exception cref="DirectoryNotFoundException">No such folder.</exception>
    /// <exception cref="FileNotFoundException">A file of the folder is missing; the message names it.</exception>
    /// <exception cref="InvalidDataException">A file does not match its SHA-256, or the manifest is malformed; the message names the file.</exception>
    public static (byte[] Graph, TextTokenizer Tokenizer, TextClassifierSettings Settings) Read(string folder) =>
        Open(folder, task: null, (root, manifestPath, verified) =>
        {
            var graph = verified(GraphFile);
            var tokenizer = Parse(verified(TokenizerFile), Path.Combine(folder, TokenizerFile), TextTokenizer.Load);
            int classes = root["classes"]!.GetValue<int>();
            var labels = root["labelNames"] is null ? null : Parse(verified(LabelsFile), Path.Combine(folder, LabelsFile), r => LabelKeys.Load(r, classes));
            var settings = new TextClassifierSettings(root["sentence1"]!.GetValue<string>(), root["sentence2"]?.GetValue<string>(),
                root["scoreColumn"]!.GetValue<string>(), root["predictedLabelColumn"]!.GetValue<string>(),
                root["maxSequenceLength"]!.GetValue<int>(), root["scoringBatchSize"]!.GetValue<int>(), classes, labels);
            settings.Validate($"'{manifestPath}'");
            return (graph, tokenizer, settings);
        });

    /// <summary>Opens a folder's manifest, checks its format and task (null: a classifier's), and reads it with
    /// <paramref name="read"/>, given a reader of the folder's files that verifies each one's SHA-256.</summary>
    private static T Open<T>(string folder, string? task, Func<JsonNode, string, Func<string, byte[]>, T> read)
    {
        ArgumentException.ThrowIfNullOrEmpty(folder);
        if (!Directory.Exists(folder))
        {
            throw new DirectoryNotFoundException($"No ONNX scoring folder at '{folder}'.");
        }
        var manifestPath = Path.Combine(folder, ManifestFile);
        if (!File.Exists(manifestPath))
        {
            throw new FileNotFoundException($"'{folder}' is not an ONNX scoring folder: it has no {ManifestFile} (written last by ExportForOnnxScoring).", manifestPath);
        }
        JsonNode root;
        try
        {
            root = JsonNode.Parse(File.ReadAllText(manifestPath)) ?? throw new InvalidDataException($"'{manifestPath}' is empty.");
        }
        catch (JsonException ex)
        {
            throw new InvalidDataException($"'{manifestPath}' is not valid JSON: {ex.Message}", ex);
        }
        try
        {
            int format = root["format"]!.GetValue<int>();
            if (format != Format)
            {
                throw new InvalidDataException($"'{manifestPath}' has format {format}; this version reads format {Format}.");
            }
            string? found = root["task"]?.GetValue<string>();
            if (found != task)
            {
                throw new InvalidDataException($"'{manifestPath}' holds a {found ?? "text classification"} model, not a {task ?? "text classification"} model; " +
                    $"load it with {found switch { null => "GwtOnnxTextClassificationTransformer", NamedEntityRecognitionTask => "GwtOnnxNamedEntityRecognitionTransformer", QuestionAnswerTask => "GwtOnnxQuestionAnswerTransformer", _ => "GwtOnnxSentenceSimilarityTransformer" }}.Load.");
            }
            byte[] Verified(string name)
            {
                var path = Path.Combine(folder, name);
                if (!File.Exists(path))
                {
                    throw new FileNotFoundException($"The ONNX scoring folder '{folder}' has no {name}.", path);
                }
                var bytes = File.ReadAllBytes(path);
                string expected = root["sha256"]?[name]?.GetValue<string>() ?? throw new InvalidDataException($"'{manifestPath}' has no SHA-256 for {name}.");
                if (!string.Equals(expected, Convert.ToHexString(ModelChecksums.Hash(bytes)), StringComparison.OrdinalIgnoreCase))
                {
                    throw new InvalidDataException($"SHA-256 mismatch in '{path}': the file is damaged or was not written by this export.");
                }
                return bytes;
            }
            return read(root, manifestPath, Verified);
        }
        catch (Exception ex) when (ex is NullReferenceException or InvalidOperationException or FormatException)
        {
            throw new InvalidDataException($"'{manifestPath}' is missing a field or has one of the wrong type: {ex.Message}", ex);
        }
    }

    private static T Parse<T>(byte[] bytes, string path, Func<BinaryReader, T> parse)
    {
        using var r = new BinaryReader(new MemoryStream(bytes, writable: false));
        try
        {
            return parse(r);
        }
        catch (Exception ex) when (ex is EndOfStreamException or FormatException or ArgumentException)
        {
            throw new InvalidDataException($"'{path}' cannot be read: {ex.Message}", ex);
        }
    }
}
