using Microsoft.ML.Gwt.Modeling;
using TorchSharp;
using TorchSharp.Modules;
using TransformerEncoder = Microsoft.ML.Gwt.Modeling.TransformerEncoder;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Pretraining;

/// <summary>
/// An encoder with Hugging Face's masked-language-model head, laid out as <c>BertForMaskedLM</c> or
/// <c>RobertaForMaskedLM</c> (also XLM-RoBERTa and CamemBERT, whose <c>*ForMaskedLM</c> share RoBERTa's head):
/// <list type="bullet">
/// <item>BERT: <c>bert.*</c> (no pooler) and <c>cls.predictions.transform.dense</c> → <c>hidden_act</c> →
/// <c>cls.predictions.transform.LayerNorm</c> → decoder tied to <c>bert.embeddings.word_embeddings.weight</c> +
/// <c>cls.predictions.bias</c>;</item>
/// <item>RoBERTa: <c>roberta.*</c> (no pooler) and <c>lm_head.dense</c> → GELU → <c>lm_head.layer_norm</c> → tied
/// decoder + <c>lm_head.bias</c>.</item>
/// </list>
/// The tied decoder weight is the word embedding itself (no parameter of its own), so the parameter names are exactly
/// the keys Hugging Face's <c>save_pretrained</c> writes (it drops the tied <c>decoder.weight</c>/<c>decoder.bias</c>).
/// </summary>
public sealed class MaskedLanguageModel : nn.Module
{
    private readonly Linear _dense;
    private readonly LayerNorm _norm;
    private readonly Parameter _bias;
    private readonly Parameter _wordEmbeddings;
    private readonly string _activation;

    /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Creates the model with Hugging Face's initialization (normal(0, initializer_range), zero biases, unit LayerNorms).</summary>
    /// <exception cref="NotSupportedException">The family has no masked-language-model head here (only BERT and the RoBERTa family).</exception>
    public MaskedLanguageModel(TransformerConfig config) : base("MaskedLanguageModel")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        if (config.Family is not (TransformerFamily.Bert or TransformerFamily.Roberta))
        {
            throw new NotSupportedException(
                $"Masked-language-model pre-training supports model_type bert, roberta, xlm-roberta and camembert, not '{config.ModelType}'.");
        }
        Config = config;
        Encoder = TransformerEncoder.Create(config, addPooler: false);
        register_module(config.EncoderPrefix, Encoder);
        _dense = Linear(config.HiddenSize, config.HiddenSize);
        _norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        _bias = new Parameter(torch.zeros(config.VocabSize));
        var head = new HeadModule();
        if (config.Family == TransformerFamily.Bert)
        {
            var transform = new TransformerEncoder.Container();
            transform.Add("dense", _dense);
            transform.Add("LayerNorm", _norm);
            head.Add("transform", transform);
            head.AddParameter("bias", _bias);
            var cls = new TransformerEncoder.Container();
            cls.Add("predictions", head);
            register_module("cls", cls);
            _activation = config.HiddenAct;
        }
        else
        {
            head.Add("dense", _dense);
            head.Add("layer_norm", _norm);
            head.AddParameter("bias", _bias);
            register_module("lm_head", head);
            _activation = "gelu";
        }
        TransformerEncoder.InitializeWeights(head, config);
        _wordEmbeddings = Encoder.named_parameters().First(p => p.name == "embeddings.word_embeddings.weight").parameter;
    }

    /// <summary>The architecture.</summary>
    public TransformerConfig Config { get; }

    /// <summary>The encoder (registered as the family's prefix, <c>bert</c> or <c>roberta</c>).</summary>
    public TransformerEncoder Encoder { get; }

    /// <summary>Hugging Face's class name of this layout: <c>BertForMaskedLM</c>, <c>RobertaForMaskedLM</c>,
    /// <c>XLMRobertaForMaskedLM</c> or <c>CamembertForMaskedLM</c>.</summary>
    public string ArchitectureName => Config.ModelType switch
    {
        "xlm-roberta" => "XLMRobertaForMaskedLM",
        "camembert" => "CamembertForMaskedLM",
        "roberta" => "RobertaForMaskedLM",
        _ => "BertForMaskedLM",
    };

    /// <summary>Vocabulary logits <c>[batch, tokens, vocab]</c>.</summary>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = Encoder.Forward(inputIds, attentionMask, tokenTypeIds);
        return Predict(hidden).MoveToOuterDisposeScope();
    }

    /// <summary>The head on hidden states <c>[..., hidden]</c>: vocabulary logits <c>[..., vocab]</c>.</summary>
    public Tensor Predict(Tensor hidden)
    {
        ArgumentNullException.ThrowIfNull(hidden);
        using var scope = torch.NewDisposeScope();
        var transformed = _norm.call(TransformerEncoder.Activate(_activation, _dense.call(hidden)));
        return functional.linear(transformed, _wordEmbeddings, _bias).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The mean masked-language-model loss: cross-entropy of the positions whose label is not -100 (Hugging Face's
    /// ignore index). The head runs on those positions only, which gives the same loss and gradients as running it on
    /// every position, without the vocabulary-wide projection of the unmasked ones.
    /// </summary>
    public Tensor Loss(Tensor inputIds, Tensor attentionMask, Tensor labels, Tensor? tokenTypeIds = null)
    {
        ArgumentNullException.ThrowIfNull(labels);
        using var scope = torch.NewDisposeScope();
        var hidden = Encoder.Forward(inputIds, attentionMask, tokenTypeIds);
        var flatLabels = labels.reshape(-1);
        var chosen = flatLabels.ne(HeldScalars.IgnoreIndex).nonzero().squeeze(1);
        var picked = hidden.reshape(-1, hidden.shape[^1]).index_select(0, chosen);
        var logits = Predict(picked);
        return functional.cross_entropy(logits, flatLabels.index_select(0, chosen)).MoveToOuterDisposeScope();
    }

    /// <summary>A head module with Hugging Face's child and parameter names.</summary>
    private sealed class HeadModule : nn.Module
    {
        protected override void RegisterComponents()
        {
        }

        public HeadModule() : base("MaskedLanguageModelHead")
        {
        }

        public void Add(string name, nn.Module child) => register_module(name, child);

        public void AddParameter(string name, Parameter parameter) => register_parameter(name, parameter);
    }
}
