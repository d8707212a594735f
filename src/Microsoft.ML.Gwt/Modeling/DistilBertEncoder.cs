using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

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

        private readonly Linear _q, _k, _v, _out, _lin1, _lin2;
        private readonly LayerNorm _saNorm, _outNorm;
        private readonly Dropout _attnDropout, _dropout;
        private readonly int _heads, _headSize;
        private readonly string _act;

        public DistilBertLayer(TransformerConfig c) : base("DistilBertLayer")
        {
            _heads = c.NumAttentionHeads;
            _headSize = c.HiddenSize / c.NumAttentionHeads;
            _act = c.HiddenAct;
            _q = Linear(c.HiddenSize, c.HiddenSize);
            _k = Linear(c.HiddenSize, c.HiddenSize);
            _v = Linear(c.HiddenSize, c.HiddenSize);
            _out = Linear(c.HiddenSize, c.HiddenSize);
            _saNorm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _lin1 = Linear(c.HiddenSize, c.IntermediateSize);
            _lin2 = Linear(c.IntermediateSize, c.HiddenSize);
            _outNorm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _attnDropout = Dropout(c.AttentionProbsDropoutProb);
            _dropout = Dropout(c.HiddenDropoutProb);
            var attention = new Container();
            attention.Add("q_lin", _q);
            attention.Add("k_lin", _k);
            attention.Add("v_lin", _v);
            attention.Add("out_lin", _out);
            attention.Add("dropout", _attnDropout);
            var ffn = new Container();
            ffn.Add("lin1", _lin1);
            ffn.Add("lin2", _lin2);
            ffn.Add("dropout", _dropout);
            register_module("attention", attention);
            register_module("sa_layer_norm", _saNorm);
            register_module("ffn", ffn);
            register_module("output_layer_norm", _outNorm);
        }

        public Tensor Forward(Tensor hidden, Tensor padding)
        {
            using var scope = torch.NewDisposeScope();
            long batch = hidden.shape[0], tokens = hidden.shape[1];
            Tensor Heads(Linear proj) => proj.call(hidden).view(batch, tokens, _heads, _headSize).transpose(1, 2);
            using var scale = Math.Sqrt(_headSize).ToScalar(); // held for the call (TransformerEncoder.AdditiveMask)
            var q = Heads(_q).div(scale);
            var k = Heads(_k);
            var v = Heads(_v);
            var scores = torch.matmul(q, k.transpose(-1, -2));
            using var min = MinValue(scores.dtype).ToScalar();
            scores = scores.masked_fill(padding, min);
            var probs = _attnDropout.call(PrecisionPolicy.Softmax(scores));
            var context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, tokens, _heads * _headSize);
            var attended = _saNorm.call(_out.call(context).PlusInPlace(hidden));
            var inner = _dropout.call(_lin2.call(Activate(_act, _lin1.call(attended))));
            return _outNorm.call(inner.PlusInPlace(attended)).MoveToOuterDisposeScope();
        }
    }
}
