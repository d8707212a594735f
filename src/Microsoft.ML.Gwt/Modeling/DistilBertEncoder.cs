using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// DistilBERT's encoder with Hugging Face's names: <c>embeddings.{word_embeddings, position_embeddings, LayerNorm}</c>
/// (no token types) and <c>transformer.layer.N.{attention.q_lin/k_lin/v_lin/out_lin, sa_layer_norm, ffn.lin1/lin2,
/// output_layer_norm}</c>. Positions count from 0.
/// </summary>
public sealed class DistilBertEncoder : TransformerEncoder
{
    private readonly Embedding _word, _position;
    private readonly LayerNorm _norm;
    private readonly Dropout _dropout;
    private readonly ModuleList<DistilBertLayer> _layers;

    /// <summary>Creates the encoder with Hugging Face's initialization.</summary>
    public DistilBertEncoder(TransformerConfig config) : base("DistilBertEncoder", config)
    {
        if (config.Family != TransformerFamily.DistilBert)
        {
            throw new ArgumentException($"DistilBertEncoder does not implement model_type '{config.ModelType}'; use TransformerEncoder.Create.", nameof(config));
        }
        _word = Embedding(config.VocabSize, config.HiddenSize);
        _position = Embedding(config.MaxPositionEmbeddings, config.HiddenSize);
        _norm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        _dropout = Dropout(config.HiddenDropoutProb);
        var embeddings = new Container();
        embeddings.Add("word_embeddings", _word);
        embeddings.Add("position_embeddings", _position);
        embeddings.Add("LayerNorm", _norm);
        embeddings.Add("dropout", _dropout);
        register_module("embeddings", embeddings);
        _layers = new ModuleList<DistilBertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new DistilBertLayer(config)).ToArray());
        var transformer = new Container();
        transformer.Add("layer", _layers);
        register_module("transformer", transformer);
        InitializeWeights(this, config);
    }

    /// <inheritdoc />
    public override Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        CheckLength(inputIds);
        using var scope = torch.NewDisposeScope();
        long tokens = inputIds.shape[1];
        var positions = HeldScalars.Arange(tokens, inputIds.device).unsqueeze(0);
        var hidden = _dropout.call(_norm.call(_word.call(inputIds).Plus(_position.call(positions))));
        // Padding keys are filled with the dtype's minimum before the softmax (masked_fill, as Hugging Face).
        var padding = attentionMask.eq(0).unsqueeze(1).unsqueeze(2);
        foreach (var layer in _layers)
        {
            hidden = layer.Forward(hidden, padding);
        }
        return hidden.MoveToOuterDisposeScope();
    }

    private sealed class DistilBertLayer : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        private readonly PostNormLayerParts _p;

        public DistilBertLayer(TransformerConfig c) : base("DistilBertLayer")
        {
            _p = PostNormLayerParts.Create(c);
            var attention = new Container();
            attention.Add("q_lin", _p.Query);
            attention.Add("k_lin", _p.Key);
            attention.Add("v_lin", _p.Value);
            attention.Add("out_lin", _p.AttentionOut);
            attention.Add("dropout", _p.AttentionDropout);
            var ffn = new Container();
            ffn.Add("lin1", _p.Intermediate);
            ffn.Add("lin2", _p.Output);
            ffn.Add("dropout", _p.HiddenDropout);
            register_module("attention", attention);
            register_module("sa_layer_norm", _p.AttentionNorm);
            register_module("ffn", ffn);
            register_module("output_layer_norm", _p.OutputNorm);
        }

        public Tensor Forward(Tensor hidden, Tensor padding)
        {
            using var scope = torch.NewDisposeScope();
            using var scale = Math.Sqrt(_p.HeadSize).ToScalar(); // held for the call (HeldScalars)
            var q = _p.SplitHeads(_p.Query, hidden).div(scale);
            var k = _p.SplitHeads(_p.Key, hidden);
            var v = _p.SplitHeads(_p.Value, hidden);
            var scores = torch.matmul(q, k.transpose(-1, -2));
            using var min = MinValue(scores.dtype).ToScalar();
            scores = scores.masked_fill(padding, min);
            var probs = _p.AttentionDropout.call(PrecisionPolicy.Softmax(scores));
            var context = _p.MergeHeads(probs, v);
            var attended = _p.AttentionNorm.call(_p.AttentionOut.call(context).PlusInPlace(hidden));
            var inner = _p.HiddenDropout.call(_p.Output.call(Activate(_p.Activation, _p.Intermediate.call(attended))));
            return _p.OutputNorm.call(inner.PlusInPlace(attended)).MoveToOuterDisposeScope();
        }
    }
}
