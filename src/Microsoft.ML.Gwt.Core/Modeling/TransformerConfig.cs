using System.Text.Json;
using System.Text.Json.Serialization;

namespace Microsoft.ML.Gwt.Core.Modeling;

/// <summary>The architecture family of a <see cref="TransformerConfig"/>.</summary>
public enum TransformerFamily
{
    /// <summary>BERT: absolute positions from 0, token types, WordPiece.</summary>
    Bert,

    /// <summary>RoBERTa, XLM-RoBERTa, CamemBERT: positions offset by <c>pad_token_id + 1</c>.</summary>
    Roberta,

    /// <summary>DistilBERT: no token types, <c>q_lin</c>/<c>k_lin</c>/<c>v_lin</c>/<c>out_lin</c>, <c>ffn.lin1</c>/<c>lin2</c>.</summary>
    DistilBert,

    /// <summary>ELECTRA discriminator: BERT layers, embeddings of <c>embedding_size</c> projected by
    /// <c>embeddings_project</c>.</summary>
    Electra,

    /// <summary>DeBERTa-v2 and v3: disentangled attention over relative position buckets.</summary>
    DebertaV2,
}

/// <summary>
/// Hyper-parameters of a transformer encoder, with the field names and defaults of Hugging Face's <c>config.json</c>
/// (<c>BertConfig</c>, <c>RobertaConfig</c>, <c>XLMRobertaConfig</c>, <c>CamembertConfig</c>, <c>ElectraConfig</c>,
/// <c>DebertaV2Config</c>; DistilBERT's own names <c>dim</c>, <c>n_layers</c>, ... are read into the common fields).
/// </summary>
public sealed class TransformerConfig
{
    /// <summary>The <c>model_type</c> values that load, each with its family.</summary>
    public static IReadOnlyDictionary<string, TransformerFamily> SupportedModelTypes { get; } = new Dictionary<string, TransformerFamily>(StringComparer.Ordinal)
    {
        ["bert"] = TransformerFamily.Bert,
        ["roberta"] = TransformerFamily.Roberta,
        ["xlm-roberta"] = TransformerFamily.Roberta,
        ["camembert"] = TransformerFamily.Roberta,
        ["distilbert"] = TransformerFamily.DistilBert,
        ["electra"] = TransformerFamily.Electra,
        ["deberta-v2"] = TransformerFamily.DebertaV2,
    };

    /// <summary>The architecture, one of <see cref="SupportedModelTypes"/> (DeBERTa-v3 checkpoints say <c>deberta-v2</c>).</summary>
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

    /// <summary>Rows of the token-type embedding (0: none, as DeBERTa-v3).</summary>
    [JsonPropertyName("type_vocab_size")] public int TypeVocabSize { get; set; } = 2;

    /// <summary>LayerNorm epsilon.</summary>
    [JsonPropertyName("layer_norm_eps")] public double LayerNormEps { get; set; } = 1e-12;

    /// <summary>Padding token id.</summary>
    [JsonPropertyName("pad_token_id")] public int PadTokenId { get; set; }

    /// <summary>Standard deviation of the normal initialization used from scratch.</summary>
    [JsonPropertyName("initializer_range")] public double InitializerRange { get; set; } = 0.02;

    /// <summary>Width of the embeddings when it differs from <see cref="HiddenSize"/> (ELECTRA, DeBERTa); null means
    /// <see cref="HiddenSize"/>.</summary>
    [JsonPropertyName("embedding_size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? EmbeddingSize { get; set; }

    /// <summary>Dropout before the classifier (BERT, RoBERTa, ELECTRA); null means <see cref="HiddenDropoutProb"/>.</summary>
    [JsonPropertyName("classifier_dropout")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ClassifierDropout { get; set; }

    /// <summary>DistilBERT: dropout between <c>pre_classifier</c> and <c>classifier</c>.</summary>
    [JsonPropertyName("seq_classif_dropout")] public double SeqClassifDropout { get; set; } = 0.2;

    /// <summary>DistilBERT: dropout before the question-answering head's <c>qa_outputs</c>.</summary>
    [JsonPropertyName("qa_dropout")] public double QaDropout { get; set; } = 0.1;

    /// <summary>DeBERTa: whether attention adds relative-position terms.</summary>
    [JsonPropertyName("relative_attention")] public bool RelativeAttention { get; set; }

    /// <summary>DeBERTa: the relative distance range (values below 1 mean <see cref="MaxPositionEmbeddings"/>).</summary>
    [JsonPropertyName("max_relative_positions")] public int MaxRelativePositions { get; set; } = -1;

    /// <summary>DeBERTa: number of log-spaced relative position buckets (values below 1: no bucketing).</summary>
    [JsonPropertyName("position_buckets")] public int PositionBuckets { get; set; } = -1;

    /// <summary>DeBERTa: <c>layer_norm</c> normalizes the relative embeddings (<c>encoder.LayerNorm</c>).</summary>
    [JsonPropertyName("norm_rel_ebd")] public string NormRelEbd { get; set; } = "none";

    /// <summary>DeBERTa: relative positions are projected by the content query/key projections.</summary>
    [JsonPropertyName("share_att_key")] public bool ShareAttKey { get; set; }

    /// <summary>DeBERTa: the relative attention terms, <c>c2p</c> and/or <c>p2c</c> (a list or a <c>|</c>-separated string).</summary>
    [JsonPropertyName("pos_att_type")]
    [JsonConverter(typeof(PosAttTypeConverter))]
    public string[] PosAttType { get; set; } = Array.Empty<string>();

    /// <summary>DeBERTa: whether absolute position embeddings are added to the input (false in DeBERTa-v3).</summary>
    [JsonPropertyName("position_biased_input")] public bool PositionBiasedInput { get; set; } = true;

    /// <summary>DeBERTa: width of the context pooler; null means <see cref="HiddenSize"/>.</summary>
    [JsonPropertyName("pooler_hidden_size")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? PoolerHiddenSize { get; set; }

    /// <summary>DeBERTa: activation of the context pooler.</summary>
    [JsonPropertyName("pooler_hidden_act")] public string PoolerHiddenAct { get; set; } = "gelu";

    /// <summary>DeBERTa: dropout before the context pooler.</summary>
    [JsonPropertyName("pooler_dropout")] public double PoolerDropout { get; set; }

    /// <summary>DeBERTa: dropout before the classifier; null means <see cref="HiddenDropoutProb"/>.</summary>
    [JsonPropertyName("cls_dropout")]
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public double? ClsDropout { get; set; }

    /// <summary>DeBERTa-v2 (xlarge): kernel of the convolution after the first layer; 0 means none.</summary>
    [JsonPropertyName("conv_kernel_size")] public int ConvKernelSize { get; set; }

    /// <summary>DeBERTa-v2: groups of that convolution.</summary>
    [JsonPropertyName("conv_groups")] public int ConvGroups { get; set; } = 1;

    /// <summary>DeBERTa-v2: activation of that convolution.</summary>
    [JsonPropertyName("conv_act")] public string ConvAct { get; set; } = "tanh";

    /// <summary>The family, from <see cref="ModelType"/>.</summary>
    /// <exception cref="NotSupportedException">The model type is not one of <see cref="SupportedModelTypes"/>.</exception>
    [JsonIgnore]
    public TransformerFamily Family => SupportedModelTypes.TryGetValue(ModelType, out var family) ? family
        : throw new NotSupportedException(UnsupportedMessage("config"));

    /// <summary>The name under which Hugging Face's <c>*ForSequenceClassification</c> holds the encoder:
    /// <c>bert</c>, <c>roberta</c> (also XLM-RoBERTa and CamemBERT), <c>distilbert</c>, <c>electra</c>, <c>deberta</c>.</summary>
    [JsonIgnore]
    public string EncoderPrefix => Family switch
    {
        TransformerFamily.Roberta => "roberta",
        TransformerFamily.DistilBert => "distilbert",
        TransformerFamily.Electra => "electra",
        TransformerFamily.DebertaV2 => "deberta",
        _ => "bert",
    };

    /// <summary>Where position ids start: <c>pad_token_id + 1</c> for the RoBERTa family, 0 otherwise.</summary>
    [JsonIgnore]
    public int PositionOffset => Family == TransformerFamily.Roberta ? PadTokenId + 1 : 0;

    /// <summary>The longest token sequence the position table allows.</summary>
    [JsonIgnore]
    public int MaxSequenceLength => MaxPositionEmbeddings - PositionOffset;

    /// <summary>The embedding width (<see cref="EmbeddingSize"/> or <see cref="HiddenSize"/>).</summary>
    [JsonIgnore]
    public int EmbeddingWidth => EmbeddingSize ?? HiddenSize;

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
    /// <exception cref="NotSupportedException">The model type is not supported; the message names it and the supported ones.</exception>
    public void Validate(string source = "config")
    {
        if (!SupportedModelTypes.ContainsKey(ModelType))
        {
            throw new NotSupportedException(UnsupportedMessage(source));
        }
        void Require(bool ok, string field, object value, string expected)
        {
            if (!ok)
            {
                throw new FormatException($"{source}: '{field}' is {value}; expected {expected}.");
            }
        }
        string[] activations = { "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "relu", "tanh" };
        Require(VocabSize > 0, "vocab_size", VocabSize, "> 0");
        Require(HiddenSize > 0, "hidden_size", HiddenSize, "> 0");
        Require(NumHiddenLayers >= 0, "num_hidden_layers", NumHiddenLayers, ">= 0");
        Require(NumAttentionHeads > 0 && HiddenSize % NumAttentionHeads == 0, "num_attention_heads", NumAttentionHeads,
            $"a divisor of hidden_size ({HiddenSize})");
        Require(IntermediateSize > 0, "intermediate_size", IntermediateSize, "> 0");
        Require(MaxPositionEmbeddings > PositionOffset, "max_position_embeddings", MaxPositionEmbeddings, $"> {PositionOffset}");
        Require(TypeVocabSize >= 0 && (TypeVocabSize > 0 || Family is TransformerFamily.DebertaV2 or TransformerFamily.DistilBert),
            "type_vocab_size", TypeVocabSize, Family == TransformerFamily.DebertaV2 ? ">= 0" : "> 0");
        Require(LayerNormEps > 0, "layer_norm_eps", LayerNormEps, "> 0");
        Require(PadTokenId >= 0 && PadTokenId < VocabSize, "pad_token_id", PadTokenId, $"in [0, {VocabSize})");
        Require(HiddenDropoutProb is >= 0 and < 1, "hidden_dropout_prob", HiddenDropoutProb, "in [0, 1)");
        Require(AttentionProbsDropoutProb is >= 0 and < 1, "attention_probs_dropout_prob", AttentionProbsDropoutProb, "in [0, 1)");
        Require(activations.Contains(HiddenAct), "hidden_act", HiddenAct, string.Join(", ", activations));
        Require(EmbeddingSize is null or > 0, "embedding_size", EmbeddingSize!, "> 0");
        Require(ClassifierDropout is null or (>= 0 and < 1), "classifier_dropout", ClassifierDropout!, "in [0, 1)");
        if (Family == TransformerFamily.DebertaV2)
        {
            Require(PosAttType.All(t => t is "c2p" or "p2c"), "pos_att_type", string.Join("|", PosAttType), "c2p and/or p2c");
            Require(PoolerHiddenSize is null || PoolerHiddenSize == HiddenSize, "pooler_hidden_size", PoolerHiddenSize!, $"hidden_size ({HiddenSize})");
            Require(activations.Contains(PoolerHiddenAct), "pooler_hidden_act", PoolerHiddenAct, string.Join(", ", activations));
            Require(activations.Contains(ConvAct), "conv_act", ConvAct, string.Join(", ", activations));
            Require(ConvKernelSize >= 0 && (ConvKernelSize == 0 || ConvKernelSize % 2 == 1), "conv_kernel_size", ConvKernelSize, "0 or an odd size");
            Require(ConvGroups > 0 && HiddenSize % ConvGroups == 0, "conv_groups", ConvGroups, $"a divisor of hidden_size ({HiddenSize})");
            Require(!RelativeAttention || RelativeSpan > 0, "position_buckets", PositionBuckets, "> 0 (or max_relative_positions > 0)");
        }
    }

    /// <summary>DeBERTa: how many relative distances each side the attention sees (buckets, else the maximum distance).</summary>
    [JsonIgnore]
    public int RelativeSpan => PositionBuckets > 0 ? PositionBuckets : (MaxRelativePositions < 1 ? MaxPositionEmbeddings : MaxRelativePositions);

    /// <summary>DeBERTa: the largest relative distance (before bucketing).</summary>
    [JsonIgnore]
    public int MaxRelativeDistance => MaxRelativePositions < 1 ? MaxPositionEmbeddings : MaxRelativePositions;

    private string UnsupportedMessage(string source) =>
        $"{source}: model_type '{ModelType}' is not supported; supported model types: {string.Join(", ", SupportedModelTypes.Keys)}.";

    /// <summary>Reads and validates a Hugging Face <c>config.json</c>.</summary>
    /// <exception cref="FormatException">The file is not valid JSON or a field is out of range; the message names the file.</exception>
    /// <exception cref="NotSupportedException">The model type is not supported; the message names it and the supported ones.</exception>
    public static TransformerConfig Load(string path) => Parse(File.ReadAllText(path), $"'{path}'", $"'{path}' is not a valid config.json");

    /// <summary>Serializes as Hugging Face <c>config.json</c>.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonOptions);

    /// <summary>Parses JSON written by <see cref="ToJson"/> (or a Hugging Face <c>config.json</c>).</summary>
    public static TransformerConfig FromJson(string json, string source = "config") => Parse(json, source, $"{source} is not valid JSON");

    private static TransformerConfig Parse(string json, string source, string invalid)
    {
        TransformerConfig? config;
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip });
            config = doc.RootElement.Deserialize<TransformerConfig>(JsonOptions);
            if (config is not null && doc.RootElement.ValueKind == JsonValueKind.Object)
            {
                config.ApplyFamilyNames(doc.RootElement);
            }
        }
        catch (JsonException ex)
        {
            throw new FormatException($"{invalid}: {ex.Message}", ex);
        }
        catch (InvalidOperationException ex)
        {
            throw new FormatException($"{invalid}: {ex.Message}", ex);
        }
        (config ?? throw new FormatException($"{invalid}: it holds null.")).Validate(source);
        return config;
    }

    /// <summary>Reads DistilBERT's field names and applies the defaults a family's config class has where ours differ.</summary>
    private void ApplyFamilyNames(JsonElement root)
    {
        bool Has(string name) => root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;
        int Int(string name) => root.GetProperty(name).GetInt32();
        double Number(string name) => root.GetProperty(name).GetDouble();
        if (!SupportedModelTypes.TryGetValue(ModelType, out var family))
        {
            return;
        }
        switch (family)
        {
            case TransformerFamily.DistilBert:
                // DistilBertConfig: dim, n_layers, n_heads, hidden_dim, activation, dropout, attention_dropout; LayerNorm eps 1e-12.
                HiddenSize = Has("dim") ? Int("dim") : Has("hidden_size") ? HiddenSize : 768;
                NumHiddenLayers = Has("n_layers") ? Int("n_layers") : Has("num_hidden_layers") ? NumHiddenLayers : 6;
                NumAttentionHeads = Has("n_heads") ? Int("n_heads") : Has("num_attention_heads") ? NumAttentionHeads : 12;
                IntermediateSize = Has("hidden_dim") ? Int("hidden_dim") : Has("intermediate_size") ? IntermediateSize : 3072;
                HiddenAct = Has("activation") ? root.GetProperty("activation").GetString() ?? HiddenAct : HiddenAct;
                HiddenDropoutProb = Has("dropout") ? Number("dropout") : HiddenDropoutProb;
                AttentionProbsDropoutProb = Has("attention_dropout") ? Number("attention_dropout") : AttentionProbsDropoutProb;
                LayerNormEps = 1e-12;
                TypeVocabSize = 0;
                break;
            case TransformerFamily.Roberta:
                // RobertaConfig's defaults: pad 1, one token type, eps 1e-5 (when the file leaves them out).
                PadTokenId = Has("pad_token_id") ? PadTokenId : 1;
                TypeVocabSize = Has("type_vocab_size") ? TypeVocabSize : 1;
                LayerNormEps = Has("layer_norm_eps") ? LayerNormEps : 1e-5;
                break;
            case TransformerFamily.Electra:
                EmbeddingSize ??= 128;
                HiddenSize = Has("hidden_size") ? HiddenSize : 256;
                NumAttentionHeads = Has("num_attention_heads") ? NumAttentionHeads : 4;
                IntermediateSize = Has("intermediate_size") ? IntermediateSize : 1024;
                break;
            case TransformerFamily.DebertaV2:
                LayerNormEps = Has("layer_norm_eps") ? LayerNormEps : 1e-7;
                TypeVocabSize = Has("type_vocab_size") ? TypeVocabSize : 0;
                break;
        }
    }

    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        NumberHandling = JsonNumberHandling.AllowReadingFromString,
        WriteIndented = true,
        ReadCommentHandling = JsonCommentHandling.Skip,
    };

    /// <summary>Reads <c>pos_att_type</c> as a list (<c>["p2c", "c2p"]</c>) or a string (<c>"p2c|c2p"</c>); writes a list.</summary>
    private sealed class PosAttTypeConverter : JsonConverter<string[]>
    {
        public override string[] Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.Null:
                    return Array.Empty<string>();
                case JsonTokenType.String:
                    return (reader.GetString() ?? "").ToLowerInvariant().Split('|', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
                case JsonTokenType.StartArray:
                    var items = new List<string>();
                    while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                    {
                        items.Add((reader.TokenType == JsonTokenType.String ? reader.GetString() ?? "" : throw new JsonException("pos_att_type holds a non-string")).Trim().ToLowerInvariant());
                    }
                    return items.ToArray();
                default:
                    throw new JsonException("pos_att_type must be a list or a string.");
            }
        }

        public override void Write(Utf8JsonWriter writer, string[] value, JsonSerializerOptions options) =>
            JsonSerializer.Serialize(writer, value);
    }
}
