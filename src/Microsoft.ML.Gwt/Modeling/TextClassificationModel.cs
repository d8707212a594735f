using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// A sequence classifier laid out as Hugging Face's <c>BertForSequenceClassification</c> (<c>bert.*</c>, pooler, dropout,
/// <c>classifier</c>) or <c>RobertaForSequenceClassification</c> (<c>roberta.*</c>, <c>classifier.dense</c>, tanh,
/// <c>classifier.out_proj</c> over the first token), so fine-tuned checkpoints of either load by name.
/// </summary>
public sealed class TextClassificationModel : nn.Module
{
    /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
    protected override void RegisterComponents()
    {
    }

    private readonly Dropout _dropout;
    private readonly Linear _classifier;
    private readonly Linear? _headDense;

    /// <summary>Creates the model with freshly initialized weights.</summary>
    public TextClassificationModel(TransformerConfig config, int numClasses) : base("TextClassificationModel")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (numClasses < 2)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "A classifier needs at least 2 classes.");
        }
        NumClasses = numClasses;
        bool roberta = config.Family == TransformerFamily.Roberta;
        Encoder = new TransformerEncoder(config, addPooler: !roberta);
        register_module(EncoderPrefix, Encoder);
        _dropout = Dropout(config.HiddenDropoutProb);
        register_module("dropout", _dropout);
        _classifier = Linear(config.HiddenSize, numClasses);
        if (roberta)
        {
            _headDense = Linear(config.HiddenSize, config.HiddenSize);
            var head = new TransformerEncoder.Container();
            head.Add("dense", _headDense);
            head.Add("out_proj", _classifier);
            register_module("classifier", head);
        }
        else
        {
            register_module("classifier", _classifier);
        }
        TransformerEncoder.InitializeWeights(this, config);
    }

    /// <summary>The encoder (registered as <c>bert</c> or <c>roberta</c>).</summary>
    public TransformerEncoder Encoder { get; }

    /// <summary>The number of classes.</summary>
    public int NumClasses { get; }

    /// <summary>The name under which the encoder's parameters appear: <c>bert</c> or <c>roberta</c>.</summary>
    public string EncoderPrefix => Encoder.Config.Family == TransformerFamily.Roberta ? "roberta" : "bert";

    /// <summary>Class logits <c>[batch, classes]</c>.</summary>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = Encoder.Forward(inputIds, attentionMask, tokenTypeIds);
        Tensor logits;
        if (_headDense is not null)
        {
            var first = _dropout.call(hidden.select(1, 0));
            var dense = _dropout.call(_headDense.call(first).tanh());
            logits = _classifier.call(dense);
        }
        else
        {
            logits = _classifier.call(_dropout.call(Encoder.Pool(hidden)));
        }
        return logits.MoveToOuterDisposeScope();
    }
}
