using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// The post-LayerNorm encoder of BERT, RoBERTa, XLM-RoBERTa, CamemBERT and the ELECTRA discriminator, with Hugging
/// Face's names (<c>embeddings.*</c>, <c>encoder.layer.N.attention.self.query</c>, ..., <c>pooler.dense</c> for BERT,
/// <c>embeddings_project</c> for ELECTRA when <c>embedding_size</c> differs from <c>hidden_size</c>). RoBERTa-family
/// positions count real tokens from <c>pad_token_id + 1</c>; the others count from 0.
/// </summary>
public sealed class BertEncoder : TransformerEncoder
{
    private readonly Embeddings _embeddings;
    private readonly Linear? _project;
    private readonly ModuleList<BertLayer> _layers;
    private readonly Linear? _pooler;

    /// <summary>Creates the encoder with Hugging Face's initialization.</summary>
    /// <param name="config">A BERT, RoBERTa-family or ELECTRA configuration.</param>
    /// <param name="addPooler">Whether to include BERT's <c>pooler.dense</c>.</param>
    public BertEncoder(TransformerConfig config, bool addPooler = true) : base("BertEncoder", config)
    {
        if (config.Family is not (TransformerFamily.Bert or TransformerFamily.Roberta or TransformerFamily.Electra))
        {
            throw new ArgumentException($"BertEncoder does not implement model_type '{config.ModelType}'; use TransformerEncoder.Create.", nameof(config));
        }
        _embeddings = new Embeddings(config);
        register_module("embeddings", _embeddings);
        if (config.EmbeddingWidth != config.HiddenSize)
        {
            _project = Linear(config.EmbeddingWidth, config.HiddenSize);
            register_module("embeddings_project", _project);
        }
        _layers = new ModuleList<BertLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new BertLayer(config)).ToArray());
        var container = new Container();
        container.Add("layer", _layers);
        register_module("encoder", container);
        if (addPooler)
        {
            _pooler = Linear(config.HiddenSize, config.HiddenSize);
            var pooler = new Container();
            pooler.Add("dense", _pooler);
            register_module("pooler", pooler);
        }
        InitializeWeights(this, config);
    }

    /// <inheritdoc />
    public override bool HasPooler => _pooler is not null;

    /// <inheritdoc />
    public override Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        CheckLength(inputIds);
        using var scope = torch.NewDisposeScope();
        var positions = PositionIds(inputIds);
        var types = tokenTypeIds ?? torch.zeros_like(inputIds);
        var hidden = _embeddings.Forward(inputIds, types, positions);
        if (_project is not null)
        {
            hidden = _project.call(hidden);
        }
        var additive = AdditiveMask(attentionMask, hidden.dtype);
        foreach (var layer in _layers)
        {
            hidden = layer.Forward(hidden, additive);
        }
        return hidden.MoveToOuterDisposeScope();
    }

    /// <inheritdoc />
    public override Tensor Pool(Tensor lastHidden)
    {
        if (_pooler is null)
        {
            return base.Pool(lastHidden);
        }
        using var first = lastHidden.select(1, 0);
        using var dense = _pooler.call(first);
        return dense.tanh();
    }

    private Tensor PositionIds(Tensor inputIds)
    {
        long tokens = inputIds.shape[1];
        if (Config.Family == TransformerFamily.Roberta)
        {
            // RoBERTa: positions count real tokens from padding_idx + 1; padding gets padding_idx.
            using var pad = ((long)Config.PadTokenId).ToScalar();
            using var ne = inputIds.ne(pad);
            var mask = ne.to(ScalarType.Int64);
            return torch.cumsum(mask, 1).mul_(mask).add_(pad, HeldScalars.One);
        }
        using var range = HeldScalars.Arange(tokens, inputIds.device);
        return range.unsqueeze(0).expand(inputIds.shape[0], tokens);
    }

    private sealed class Embeddings : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        private readonly Embedding _word, _position, _tokenType;
        private readonly LayerNorm _norm;
        private readonly Dropout _dropout;

        public Embeddings(TransformerConfig c) : base("Embeddings")
        {
            int width = c.EmbeddingWidth;
            _word = Embedding(c.VocabSize, width);
            _position = Embedding(c.MaxPositionEmbeddings, width);
            _tokenType = Embedding(c.TypeVocabSize, width);
            _norm = LayerNorm(width, c.LayerNormEps);
            _dropout = Dropout(c.HiddenDropoutProb);
            register_module("word_embeddings", _word);
            register_module("position_embeddings", _position);
            register_module("token_type_embeddings", _tokenType);
            register_module("LayerNorm", _norm);
            register_module("dropout", _dropout);
        }

        public Tensor Forward(Tensor ids, Tensor types, Tensor positions)
        {
            using var w = _word.call(ids);
            using var p = _position.call(positions);
            using var t = _tokenType.call(types);
            using var wp = w.Plus(p);
            using var sum = wp.Plus(t);
            using var normed = _norm.call(sum);
            return _dropout.call(normed);
        }
    }

    private sealed class BertLayer : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        private readonly PostNormLayerParts _p;

        public BertLayer(TransformerConfig c) : base("BertLayer")
        {
            _p = PostNormLayerParts.Create(c);
            var self = new Container();
            self.Add("query", _p.Query);
            self.Add("key", _p.Key);
            self.Add("value", _p.Value);
            var attnOutput = new Container();
            attnOutput.Add("dense", _p.AttentionOut);
            attnOutput.Add("LayerNorm", _p.AttentionNorm);
            var attention = new Container();
            attention.Add("self", self);
            attention.Add("output", attnOutput);
            var intermediate = new Container();
            intermediate.Add("dense", _p.Intermediate);
            var output = new Container();
            output.Add("dense", _p.Output);
            output.Add("LayerNorm", _p.OutputNorm);
            register_module("attention", attention);
            register_module("intermediate", intermediate);
            register_module("output", output);
            register_module("attention_dropout", _p.AttentionDropout);
            register_module("hidden_dropout", _p.HiddenDropout);
        }

        public Tensor Forward(Tensor hidden, Tensor additiveMask)
        {
            using var scope = torch.NewDisposeScope();
            var q = _p.SplitHeads(_p.Query, hidden);
            var k = _p.SplitHeads(_p.Key, hidden);
            var v = _p.SplitHeads(_p.Value, hidden);
            using var scale = Math.Sqrt(_p.HeadSize).ToScalar(); // held for the call (HeldScalars)
            var scores = torch.matmul(q, k.transpose(-1, -2)).div_(scale).PlusInPlace(additiveMask);
            var probs = _p.AttentionDropout.call(PrecisionPolicy.Softmax(scores));
            var context = _p.MergeHeads(probs, v);
            var attended = _p.AttentionNorm.call(_p.HiddenDropout.call(_p.AttentionOut.call(context)).PlusInPlace(hidden));
            var inner = Activate(_p.Activation, _p.Intermediate.call(attended));
            var output = _p.OutputNorm.call(_p.HiddenDropout.call(_p.Output.call(inner)).PlusInPlace(attended));
            return output.MoveToOuterDisposeScope();
        }
    }
}
