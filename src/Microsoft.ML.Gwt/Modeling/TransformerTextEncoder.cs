using Microsoft.ML.Gwt.Core.Tokenization;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>A padded batch of token ids: <c>[batch, tokens]</c> int64 tensors, padded to the longest row of the batch.</summary>
public sealed class TokenBatch : IDisposable
{
    internal TokenBatch(Tensor inputIds, Tensor attentionMask, Tensor tokenTypeIds)
    {
        InputIds = inputIds;
        AttentionMask = attentionMask;
        TokenTypeIds = tokenTypeIds;
    }

    /// <summary>Token ids.</summary>
    public Tensor InputIds { get; }

    /// <summary>1 for tokens, 0 for padding.</summary>
    public Tensor AttentionMask { get; }

    /// <summary>Segment ids.</summary>
    public Tensor TokenTypeIds { get; }

    /// <summary>Builds a batch from encoded rows, padding each to the longest row (dynamic padding).</summary>
    public static TokenBatch Create(IReadOnlyList<EncodedText> rows, int padId, Device device)
    {
        ArgumentNullException.ThrowIfNull(rows);
        int width = Math.Max(1, rows.Count == 0 ? 1 : rows.Max(r => r.Ids.Length));
        var ids = new long[rows.Count * width];
        var mask = new long[rows.Count * width];
        var types = new long[rows.Count * width];
        Array.Fill(ids, padId);
        for (int r = 0; r < rows.Count; r++)
        {
            for (int t = 0; t < rows[r].Ids.Length; t++)
            {
                ids[r * width + t] = rows[r].Ids[t];
                mask[r * width + t] = 1;
                types[r * width + t] = rows[r].TypeIds[t];
            }
        }
        long[] shape = { rows.Count, width };
        Tensor? idsTensor = null, maskTensor = null;
        try
        {
            idsTensor = DeviceTensors.FromArray(ids, shape, device);
            maskTensor = DeviceTensors.FromArray(mask, shape, device);
            return new TokenBatch(idsTensor, maskTensor, DeviceTensors.FromArray(types, shape, device));
        }
        catch
        {
            idsTensor?.Dispose();
            maskTensor?.Dispose();
            throw;
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        InputIds.Dispose();
        AttentionMask.Dispose();
        TokenTypeIds.Dispose();
    }
}

/// <summary>
/// The encoder on its own: load a Hugging Face checkpoint folder (or build one from a config), tokenize strings, and
/// get the last hidden states <c>[batch, tokens, hidden]</c>.
/// </summary>
public sealed class TransformerTextEncoder : IDisposable
{
    /// <summary>Wraps an encoder and its tokenizer.</summary>
    public TransformerTextEncoder(TransformerEncoder encoder, TextTokenizer tokenizer, Device? device = null)
    {
        Encoder = encoder ?? throw new ArgumentNullException(nameof(encoder));
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
        Device = device ?? torch.CPU;
        Encoder.to(Device);
        Encoder.eval();
    }

    /// <summary>The encoder module.</summary>
    public TransformerEncoder Encoder { get; }

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>The device the encoder runs on.</summary>
    public Device Device { get; }

    /// <summary>The last load's report (missing and unused checkpoint keys).</summary>
    public CheckpointLoadReport? LoadReport { get; private init; }

    /// <summary>Loads a checkpoint folder: <c>config.json</c>, the weights (<see cref="CheckpointLoader.WeightsPath"/>:
    /// safetensors, or <c>pytorch_model.bin</c> read weights-only) and the tokenizer files.</summary>
    public static TransformerTextEncoder FromPretrained(string folder, Device? device = null)
    {
        var config = CheckpointLoader.ReadConfig(folder);
        var tokenizer = TextTokenizer.FromPretrained(folder, config);
        var (encoder, report) = CheckpointLoader.LoadEncoder(folder);
        return new TransformerTextEncoder(encoder, tokenizer, device) { LoadReport = report };
    }

    /// <summary>Tokenizes texts (and optional second sentences) into a dynamically padded batch on <see cref="Device"/>.</summary>
    public TokenBatch Tokenize(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second = null, int? maxTokens = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        int max = maxTokens ?? Encoder.Config.MaxSequenceLength;
        var rows = texts.Select((t, i) => Tokenizer.Encode(t, second?[i], max)).ToList();
        return TokenBatch.Create(rows, Tokenizer.PadId, Device);
    }

    /// <summary>The last hidden states of a tokenized batch (inference mode, no gradients).</summary>
    public Tensor Encode(TokenBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        using var noGrad = torch.no_grad();
        return Encoder.Forward(batch.InputIds, batch.AttentionMask, batch.TokenTypeIds);
    }

    /// <summary>Tokenizes and encodes texts: <c>[batch, tokens, hidden]</c>.</summary>
    public Tensor Encode(IReadOnlyList<string?> texts, int? maxTokens = null)
    {
        using var batch = Tokenize(texts, null, maxTokens);
        return Encode(batch);
    }

    /// <inheritdoc />
    public void Dispose() => Encoder.Dispose();
}
