using System.Globalization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using TorchSharp;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxImport;

/// <summary>The outcome of a verification: the largest difference and where.</summary>
internal sealed record Agreement(double MaxDifference, string Output, int Row, int Token, int Dimension, float OnnxValue, float OurValue,
    int Rows, int Tokens, IReadOnlyList<string> Outputs)
{
    public string Location => Token >= 0
        ? string.Create(CultureInfo.InvariantCulture, $"output '{Output}', probe row {Row}, token {Token}, dimension {Dimension}")
        : string.Create(CultureInfo.InvariantCulture, $"output '{Output}', probe row {Row}, dimension {Dimension}");
}

/// <summary>
/// Runs ONNX Runtime on the original graph and our TorchSharp encoder (<see cref="TransformerTextEncoder.FromPretrained"/>,
/// the public loader the trainer's <c>PretrainedModelPath</c> uses too) on the written folder, on the same token ids,
/// and measures the largest absolute difference of the last hidden states (and of the pooler output when imported).
/// </summary>
internal static class ImportVerifier
{
    public static Agreement Measure(byte[] onnxModel, OnnxGraph graph, string folder, bool comparePooler, IReadOnlyList<string> probeTexts)
    {
        using var encoder = TransformerTextEncoder.FromPretrained(folder);
        var config = encoder.Encoder.Config;
        var (hiddenOutput, poolerOutput) = Outputs(graph);
        if (!comparePooler)
        {
            poolerOutput = null;
        }

        using var sessionOptions = new SessionOptions { GraphOptimizationLevel = GraphOptimizationLevel.ORT_ENABLE_BASIC };
        InferenceSession session;
        try
        {
            session = new InferenceSession(onnxModel, sessionOptions);
        }
        catch (OnnxRuntimeException ex)
        {
            throw new InvalidDataException($"ONNX Runtime cannot load '{graph.Source}': {ex.Message}", ex);
        }
        using (session)
        {
            var inputs = InputRoles(session, graph.Source);
            var texts = probeTexts.Select(t => t.Split('\t', 2)).ToList();
            var textRows = texts.Select(p => encoder.Tokenizer.Encode(p[0], p.Length > 1 ? p[1] : null, config.MaxSequenceLength)).ToList();
            var batches = new[] { textRows, RandomRows(config, encoder.Tokenizer) };
            Agreement? worst = null;
            int rowOffset = 0, tokens = 0;
            var outputs = poolerOutput is null ? new[] { hiddenOutput } : new[] { hiddenOutput, poolerOutput };
            foreach (var rows in batches)
            {
                tokens += rows.Sum(r => r.Ids.Length);
                using var batch = TokenBatch.Create(rows, encoder.Tokenizer.PadId, torch.CPU);
                var expected = RunOnnx(session, inputs, batch, outputs);
                using var hidden = encoder.Encode(batch);
                var ours = new List<float[]> { hidden.data<float>().ToArray() };
                if (poolerOutput is not null)
                {
                    using var noGrad = torch.no_grad();
                    using var pooled = encoder.Encoder.Pool(hidden);
                    ours.Add(pooled.data<float>().ToArray());
                }
                long width = batch.InputIds.shape[1];
                var mask = batch.AttentionMask.data<long>().ToArray();
                for (int o = 0; o < outputs.Length; o++)
                {
                    var found = Compare(outputs[o], expected[o], ours[o], rows.Count, o == 0 ? (int)width : 1, config.HiddenSize, rowOffset, o == 0 ? mask : null);
                    if (IsWorse(found, worst))
                    {
                        worst = found;
                    }
                }
                rowOffset += rows.Count;
            }
            return worst! with { Rows = rowOffset, Tokens = tokens, Outputs = outputs };
        }
    }

    /// <summary>Whether <paramref name="found"/> replaces <paramref name="worst"/>: a larger difference, and a NaN
    /// above all (the first NaN is kept).</summary>
    private static bool IsWorse(Agreement found, Agreement? worst) =>
        worst is null || (!double.IsNaN(worst.MaxDifference) && (double.IsNaN(found.MaxDifference) || found.MaxDifference > worst.MaxDifference));

    /// <summary>Two rows of seeded random ids: one as long as the position table (segment 1 on its second half), one
    /// half as long (so the batch has padding over many positions).</summary>
    private static List<EncodedText> RandomRows(TransformerConfig config, TextTokenizer tokenizer)
    {
        var random = new Random(27);
        EncodedText Row(int length) => new(
            Enumerable.Range(0, length).Select(_ => random.Next(tokenizer.VocabSize)).ToArray(),
            Enumerable.Range(0, length).Select(i => config.TypeVocabSize > 1 && i >= length / 2 ? 1 : 0).ToArray());
        int full = config.MaxSequenceLength;
        return new List<EncodedText> { Row(full), Row(Math.Max(1, full / 2)) };
    }

    /// <summary>The largest difference over real tokens (<paramref name="mask"/> 1; null for the pooler's one row).
    /// Padded positions are computed by both but not compared: every consumer ignores them, and their values (up to 4
    /// for MiniLM's [PAD] rows, through LayerNorms of large activations) differ by up to 2e-4 between float32 runs of
    /// the same graph, while real tokens agree to about 3e-6.</summary>
    private static Agreement Compare(string output, float[] expected, float[] actual, int rows, int tokens, int hidden, int rowOffset, long[]? mask)
    {
        if (expected.Length != actual.Length)
        {
            throw new InvalidDataException(
                $"The ONNX output '{output}' has {expected.Length} values for {rows} rows; our encoder gives {actual.Length} ({rows} x {tokens} x {hidden}).");
        }
        double max = -1;
        int at = 0;
        for (int i = 0; i < expected.Length; i++)
        {
            if (mask is not null && mask[i / hidden] == 0)
            {
                continue;
            }
            double diff = Math.Abs((double)expected[i] - actual[i]);
            if (double.IsNaN(diff))
            {
                max = double.NaN;
                at = i;
                break;
            }
            if (diff > max)
            {
                max = diff;
                at = i;
            }
        }
        int row = at / (tokens * hidden), tok = at / hidden % tokens, dim = at % hidden;
        return new Agreement(max, output, rowOffset + row, mask is not null ? tok : -1, dim, expected[at], actual[at], 0, 0, Array.Empty<string>());
    }

    private static List<float[]> RunOnnx(InferenceSession session, IReadOnlyList<(string Name, string Role, bool Int32)> inputs, TokenBatch batch, string[] outputs)
    {
        int[] dims = batch.InputIds.shape.Select(d => (int)d).ToArray();
        var values = new List<NamedOnnxValue>();
        foreach (var (name, role, int32) in inputs)
        {
            var source = role switch { "input_ids" => batch.InputIds, "attention_mask" => batch.AttentionMask, _ => batch.TokenTypeIds };
            var data = source.data<long>().ToArray();
            values.Add(int32
                ? NamedOnnxValue.CreateFromTensor(name, new DenseTensor<int>(data.Select(v => (int)v).ToArray(), dims))
                : NamedOnnxValue.CreateFromTensor(name, new DenseTensor<long>(data, dims)));
        }
        using var results = session.Run(values, outputs);
        return results.Select(r => r.AsTensor<float>().ToArray()).ToList();
    }

    /// <summary>Which graph input is which: BERT's <c>input_ids</c>, <c>attention_mask</c> and (optional)
    /// <c>token_type_ids</c>, int64 or int32.</summary>
    private static List<(string Name, string Role, bool Int32)> InputRoles(InferenceSession session, string source)
    {
        var roles = new List<(string, string, bool)>();
        foreach (var (name, meta) in session.InputMetadata)
        {
            string? role = new[] { "input_ids", "attention_mask", "token_type_ids" }.FirstOrDefault(r => name.Contains(r, StringComparison.Ordinal));
            if (role is null || (meta.ElementType != typeof(long) && meta.ElementType != typeof(int)))
            {
                throw new InvalidDataException(
                    $"'{source}' has the input '{name}' ({meta.ElementType.Name}); a BERT encoder graph takes integer input_ids, attention_mask " +
                    $"and optionally token_type_ids (inputs: {string.Join(", ", session.InputMetadata.Keys)}).");
            }
            roles.Add((name, role, meta.ElementType == typeof(int)));
        }
        if (!roles.Any(r => r.Item2 == "input_ids") || !roles.Any(r => r.Item2 == "attention_mask"))
        {
            throw new InvalidDataException(
                $"'{source}' lacks an input_ids or attention_mask input (inputs: {string.Join(", ", session.InputMetadata.Keys)}).");
        }
        return roles;
    }

    /// <summary>The output holding the last hidden states (<c>last_hidden_state</c>, else the first rank-3 output) and
    /// the pooler's (an output written by a <c>Tanh</c>), if any.</summary>
    private static (string Hidden, string? Pooler) Outputs(OnnxGraph graph)
    {
        var outputs = graph.Model.Graph.Output;
        int Rank(global::Onnx.ValueInfoProto v) => v.Type?.TensorType?.Shape?.Dim.Count ?? -1;
        var hidden = outputs.FirstOrDefault(o => o.Name == "last_hidden_state") ?? outputs.FirstOrDefault(o => Rank(o) == 3)
            ?? throw new InvalidDataException(
                $"'{graph.Source}' has no output of token embeddings [batch, tokens, hidden] (outputs: {string.Join(", ", outputs.Select(o => o.Name))}).");
        var pooler = outputs.FirstOrDefault(o => o != hidden && graph.Producer(o.Name)?.OpType == "Tanh");
        return (hidden.Name, pooler?.Name);
    }
}
