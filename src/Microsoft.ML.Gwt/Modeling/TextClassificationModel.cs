using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// A sequence classifier laid out as Hugging Face's <c>*ForSequenceClassification</c> of its family: the encoder under
/// <see cref="EncoderPrefix"/> (<c>bert</c>, <c>roberta</c>, <c>distilbert</c>, <c>electra</c>, <c>deberta</c>) and
/// the family's <see cref="ClassificationHead"/> at the top level, so fine-tuned checkpoints load by name. With one label
/// it is Hugging Face's regression model (<c>num_labels = 1</c>, <c>problem_type</c> "regression"): the same head with one
/// output, trained with mean squared error on <c>logits.squeeze(-1)</c> (sentence similarity).
/// </summary>
public sealed class TextClassificationModel : nn.Module
{
    /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Creates the model with freshly initialized weights: a classifier of <paramref name="numClasses"/> classes
    /// (at least 2), or with 1 a regression model whose single logit is the score.</summary>
    /// <exception cref="NotSupportedException">The model type is not supported.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is below 1.</exception>
    public TextClassificationModel(TransformerConfig config, int numClasses) : this(config, numClasses, TextHeadKind.SequenceClassification)
    {
    }

    /// <summary>Creates the model with freshly initialized weights and the head <paramref name="head"/>: a sequence
    /// classifier (or regressor) of <paramref name="numClasses"/> outputs, a token classifier of
    /// <paramref name="numClasses"/> tags (Hugging Face's <c>*ForTokenClassification</c>, <see cref="TokenClassificationHead"/>),
    /// or Hugging Face's <c>*ForQuestionAnswering</c> span head (<paramref name="numClasses"/> must be 2: start and end).
    /// The encoder has a pooler only under a sequence classifier, as in Hugging Face's models.</summary>
    /// <exception cref="NotSupportedException">The model type is not supported.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="numClasses"/> is below 1, or not 2 for the span head.</exception>
    public TextClassificationModel(TransformerConfig config, int numClasses, TextHeadKind head) : base("TextClassificationModel")
    {
        ArgumentNullException.ThrowIfNull(config);
        if (numClasses < 1)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "A classifier needs at least 2 classes (1: a regression head).");
        }
        if (head == TextHeadKind.QuestionAnswering && numClasses != 2)
        {
            throw new ArgumentOutOfRangeException(nameof(numClasses), numClasses, "A question-answering head has 2 outputs per position (start, end).");
        }
        NumClasses = numClasses;
        HeadKind = head;
        Encoder = TransformerEncoder.Create(config, addPooler: head == TextHeadKind.SequenceClassification);
        register_module(config.EncoderPrefix, Encoder);
        Head = head switch
        {
            TextHeadKind.QuestionAnswering => ClassificationHead.CreateSpan(config),
            TextHeadKind.TokenClassification => new TokenClassificationHead(config, numClasses),
            _ => ClassificationHead.Create(config, numClasses),
        };
        foreach (var (name, module) in Head.Parts)
        {
            register_module(name, module);
        }
        // The whole model once more, as before the families were split: keeps from-scratch runs bit-identical.
        TransformerEncoder.InitializeWeights(this, config);
        HeadParameterNames = Head.Parts
            .SelectMany(p => p.Module.named_parameters().Select(np => p.Name + "." + np.name))
            .ToList();
    }

    /// <summary>The encoder (registered as <see cref="EncoderPrefix"/>).</summary>
    public TransformerEncoder Encoder { get; }

    /// <summary>The classification head.</summary>
    public ClassificationHead Head { get; }

    /// <summary>Names of the head's parameters (re-initialized when a checkpoint's label count differs).</summary>
    public IReadOnlyList<string> HeadParameterNames { get; }

    /// <summary>The head: a sequence classifier's, a token classifier's, or the question-answering span head.</summary>
    public TextHeadKind HeadKind { get; }

    /// <summary>The number of classes (Hugging Face's <c>num_labels</c>); 1 for a regression model.</summary>
    public int NumClasses { get; }

    /// <summary>The name under which the encoder's parameters appear (Hugging Face's <c>base_model_prefix</c>).</summary>
    public string EncoderPrefix => Encoder.Config.EncoderPrefix;

    /// <summary>Class logits <c>[batch, classes]</c> (a token classifier's: <c>[batch, tokens, labels]</c>; the span head's:
    /// <c>[batch, seq, 2]</c>, start and end logits), float32 whatever the compute type (see <see cref="PrecisionPolicy"/>).</summary>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        using var scope = torch.NewDisposeScope();
        var hidden = Encoder.Forward(inputIds, attentionMask, tokenTypeIds);
        return PrecisionPolicy.Float32(Head.Forward(hidden, Encoder)).MoveToOuterDisposeScope();
    }
}

/// <summary>The head of a <see cref="TextClassificationModel"/>.</summary>
public enum TextHeadKind
{
    /// <summary>Hugging Face's <c>*ForSequenceClassification</c> head: logits <c>[batch, labels]</c>.</summary>
    SequenceClassification,

    /// <summary>Hugging Face's <c>*ForQuestionAnswering</c> head (<c>qa_outputs</c>): logits <c>[batch, seq, 2]</c>.</summary>
    QuestionAnswering,

    /// <summary>Hugging Face's <c>*ForTokenClassification</c> head (<c>classifier</c> on every position): logits
    /// <c>[batch, tokens, labels]</c>.</summary>
    TokenClassification,
}
