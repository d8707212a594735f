using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>The architecture family of a <see cref="TransformerConfig"/>.</summary>
public enum TransformerFamily
{
    /// <summary>BERT: absolute positions from 0, token types, WordPiece.</summary>
    Bert,

    /// <summary>RoBERTa: positions offset by <c>pad_token_id + 1</c>, byte-level BPE.</summary>
    Roberta,
}

/// <summary>
/// Hyper-parameters of a BERT/RoBERTa-family encoder, with the field names and defaults of Hugging Face's
/// <c>config.json</c> (<c>BertConfig</c>).
/// </summary>
public sealed class TransformerConfig
{
    /// <summary><c>bert</c> or <c>roberta</c> (others of the family, e.g. <c>xlm-roberta</c>, map to these).</summary>
    [JsonPropertyName("model_type")] public string ModelType { get; set; } = "bert";

    /// <summary>Vocabulary size (rows of the word embedding).</summary>
    [JsonPropertyName("vocab_size")] public int VocabSize { get; set; } = 30522;

    /// <summary>Hidden size.</summary>
    [JsonPropertyName("hidden_size")] public int HiddenSize { get; set; } = 768;

    /// <summary>Number of encoder layers.</summary>
    [JsonPropertyName("num_hidden_layers")] public int NumHiddenLayers { get; set; } = 12;

    /// <summary>Attention heads per layer.</summary>
    [JsonPropertyName("num_attention_heads")] public int NumAttentionHeads { get; set; } = 12;

    /// <summary>Width of the feed-forward layer.</summary>
    [JsonPropertyName("intermediate_size")] public int IntermediateSize { get; set; } = 3072;

    /// <summary>Feed-forward activation: <c>gelu</c>, <c>gelu_new</c>/<c>gelu_pytorch_tanh</c>, <c>relu</c>.</summary>
    [JsonPropertyName("hidden_act")] public string HiddenAct { get; set; } = "gelu";

    /// <summary>Dropout after embeddings, attention output and feed-forward.</summary>
    [JsonPropertyName("hidden_dropout_prob")] public double HiddenDropoutProb { get; set; } = 0.1;

    /// <summary>Dropout of the attention probabilities.</summary>
    [JsonPropertyName("attention_probs_dropout_prob")] public double AttentionProbsDropoutProb { get; set; } = 0.1;

    /// <summary>Rows of the position embedding.</summary>
    [JsonPropertyName("max_position_embeddings")] public int MaxPositionEmbeddings { get; set; } = 512;

    /// <summary>Rows of the token-type embedding.</summary>
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; set; } = 2;

    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;

    /// <summary>Padding token id.</summary>
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; set; }

    /// <summary>Standard deviation of the normal initialization used from scratch.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;

    /// <summary>The family, from <see cref="ModelType"/>.</summary>
    [JsonIgnore]
    public TransformerFamily Family => ModelType.Contains("roberta", StringComparison.OrdinalIgnoreCase) || ModelType == "camembert"
        ? TransformerFamily.Roberta : TransformerFamily.Bert;

    /// <summary>Where position ids start: 0 for BERT, <c>pad_token_id + 1</c> for RoBERTa.</summary>
    [JsonIgnore]
    public int PositionOffset => Family == TransformerFamily.Roberta ? PadTokenId + 1 : 0;

    /// <summary>The longest token sequence the position table allows.</summary>
    [JsonIgnore]
    public int MaxSequenceLength => MaxPositionEmbeddings - PositionOffset;

    /// <summary>A 2-layer, 128-wide encoder for quick from-scratch training.</summary>
    public static TransformerConfig Tiny(int vocabSize) => new()
    {
        VocabSize = vocabSize, HiddenSize = 128, NumHiddenLayers = 2, NumAttentionHeads = 2, IntermediateSize = 512,
        MaxPositionEmbeddings = 512, LayerNormEps = 1e-12,
    };

    /// <summary>A 4-layer, 256-wide encoder.</summary>
    public static TransformerConfig Small(int vocabSize) => new()
    {
        VocabSize = vocabSize, HiddenSize = 256, NumHiddenLayers = 4, NumAttentionHeads = 4, IntermediateSize = 1024,
        MaxPositionEmbeddings = 512, LayerNormEps = 1e-12,
    };

    /// <summary>BERT-base dimensions (12 × 768, 110M parameters).</summary>
    public static TransformerConfig Base(int vocabSize = 30522) => new() { VocabSize = vocabSize };

    /// <summary>Checks every field; throws naming the first bad one.</summary>
    /// <exception cref="FormatException">A field is out of range.</exception>
    public void Validate(string source = "config")
    {
        void Require(bool ok, string field, object value, string expected)
        {
            if (!ok)
            {
                throw new FormatException($"{source}: '{field}' is {value}; expected {expected}.");
            }
        }
        Require(VocabSize > 0, "vocab_size", VocabSize, "> 0");
        Require(HiddenSize > 0, "hidden_size", HiddenSize, "> 0");
        Require(NumHiddenLayers >= 0, "num_hidden_layers", NumHiddenLayers, ">= 0");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0, "num_attention_heads", NumAttentionHeads,
            $"a divisor of hidden_size ({HiddenSize})");
        Require(IntermediateSize > 0, "intermediate_size", IntermediateSize, "> 0");
        Require(MaxPositionEmbeddings > PositionOffset, "max_position_embeddings", MaxPositionEmbeddings, $"> {PositionOffset}");
        Require(TypeVocabSize > 0, "type_vocab_size", TypeVocabSize, "> 0");
        Require(LayerNormEps > 0, "layer_norm_eps", LayerNormEps, "> 0");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id", PadTokenId, $"in [0, {VocabSize})");
        Require(HiddenDropoutProb is >= 0 and < 1, "hidden_dropout_prob", HiddenDropoutProb, "in [0, 1)");
        Require(AttentionProbsDropoutProb is >= 0 and < 1, "attention_probs_dropout_prob", AttentionProbsDropoutProb, "in [0, 1)");
        Require(HiddenAct is "gelu" or "gelu_new" or "gelu_pytorch_tanh" or "gelu_fast" or "relu", "hidden_act", HiddenAct,
            "gelu, gelu_new, gelu_pytorch_tanh, gelu_fast or relu");
    }

    /// <summary>Reads and validates a Hugging Face <c>config.json</c>.</summary>
    /// <exception cref="FormatException">The file is not valid JSON or a field is out of range; the message names the file.</exception>
    public static TransformerConfig Load(string path)
    {
        TransformerConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<TransformerConfig>(File.ReadAllText(path), JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"'{path}' is not a valid config.json: {ex.Message}", ex);
        }
        if (config is null)
        {
            throw new FormatException($"'{path}' is not a valid config.json: it holds null.");
        }
        config.Validate($"'{path}'");
        return config;
    }

    /// <summary>Serializes as Hugging Face <c>config.json</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses JSON written by <see cref="ToJson"/>.</summary>
    public static TransformerConfig FromJson(string json, string source = "config")
    {
        TransformerConfig? config;
        try
        {
            config = JsonSerializer.Deserialize<TransformerConfig>(json, JsonOptions);
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{source} is not valid JSON: {ex.Message}", ex);
        }
        (config ?? throw new FormatException($"{source} holds null.")).Validate(source);
        return config;
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };
}
