using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// The token-classification head of every family, laid out as Hugging Face's <c>*ForTokenClassification</c>:
/// <c>classifier(dropout(hidden))</c> on every position's last hidden state, <c>classifier</c> a
/// <c>Linear(hidden, num_labels)</c> at the model's top level (the same key names, <c>classifier.weight</c> and
/// <c>classifier.bias</c>, in BERT, RoBERTa/XLM-R/CamemBERT, DistilBERT, ELECTRA and DeBERTa-v2/v3). The dropout is
/// <c>classifier_dropout</c> when set, else <c>hidden_dropout_prob</c> (BERT, RoBERTa, ELECTRA); DistilBERT's
/// <c>dropout</c> and DeBERTa's <c>hidden_dropout_prob</c>. Hugging Face builds the encoder without BERT's pooler for this
/// head (<c>add_pooling_layer=False</c>), and so does <see cref="TextClassificationModel"/>.
/// </summary>
public sealed class TokenClassificationHead : ClassificationHead
{
    private readonly Dropout _dropout;
    private readonly Linear _classifier;

    /// <summary>Creates the head for <paramref name="labels"/> tags.</summary>
    public TokenClassificationHead(TransformerConfig config, int labels)
    {
        ArgumentNullException.ThrowIfNull(config);
        double p = config.Family is TransformerFamily.DistilBert or TransformerFamily.DebertaV2
            ? config.HiddenDropoutProb
            : config.ClassifierDropout ?? config.HiddenDropoutProb;
        _dropout = Dropout(p);
        _classifier = Linear(config.HiddenSize, labels);
        Add("dropout", _dropout);
        Add("classifier", _classifier);
    }

    /// <inheritdoc />
    public override string ClassifierWeightName => "classifier.weight";

    /// <summary>Tag logits <c>[batch, tokens, labels]</c> from the encoder's last hidden state.</summary>
    public override Tensor Forward(Tensor lastHidden, TransformerEncoder encoder)
    {
        ArgumentNullException.ThrowIfNull(lastHidden);
        using var dropped = _dropout.call(lastHidden);
        return _classifier.call(dropped);
    }
}
