using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// DeBERTa-v2/v3's encoder with Hugging Face's names (<c>embeddings.*</c>, <c>encoder.layer.N.attention.self.query_proj</c>,
/// <c>pos_key_proj</c>/<c>pos_query_proj</c> unless <c>share_att_key</c>, <c>encoder.rel_embeddings</c>,
/// <c>encoder.LayerNorm</c>, <c>encoder.conv</c>). Attention adds content-to-position (<c>c2p</c>) and
/// position-to-content (<c>p2c</c>) terms over log-bucketed relative positions, scaled by
/// <c>sqrt(head_size · (1 + number of terms))</c>; padding rows and columns get zero attention.
/// </summary>
public sealed class DebertaV2Encoder : TransformerEncoder
{
    private readonly Embedding _word;
    private readonly Embedding? _position, _tokenType;
    private readonly Linear? _embedProj;
    private readonly LayerNorm _embedNorm;
    private readonly Dropout _embedDropout;
    private readonly ModuleList<DebertaLayer> _layers;
    private readonly Embedding? _relEmbeddings;
    private readonly LayerNorm? _relNorm;
    private readonly ConvLayer? _conv;

    /// <summary>Creates the encoder with Hugging Face's initialization.</summary>
    public DebertaV2Encoder(TransformerConfig config) : base("DebertaV2Encoder", config)
    {
        if (config.Family != TransformerFamily.DebertaV2)
        {
            throw new ArgumentException($"DebertaV2Encoder does not implement model_type '{config.ModelType}'; use TransformerEncoder.Create.", nameof(config));
        }
        int width = config.EmbeddingWidth;
        var embeddings = new Container();
        _word = Embedding(config.VocabSize, width);
        embeddings.Add("word_embeddings", _word);
        if (config.PositionBiasedInput)
        {
            _position = Embedding(config.MaxPositionEmbeddings, width);
            embeddings.Add("position_embeddings", _position);
        }
        if (config.TypeVocabSize > 0)
        {
            _tokenType = Embedding(config.TypeVocabSize, width);
            embeddings.Add("token_type_embeddings", _tokenType);
        }
        if (width != config.HiddenSize)
        {
            _embedProj = Linear(width, config.HiddenSize, hasBias: false);
            embeddings.Add("embed_proj", _embedProj);
        }
        _embedNorm = LayerNorm(config.HiddenSize, config.LayerNormEps);
        _embedDropout = Dropout(config.HiddenDropoutProb);
        embeddings.Add("LayerNorm", _embedNorm);
        embeddings.Add("dropout", _embedDropout);
        register_module("embeddings", embeddings);

        var encoder = new Container();
        _layers = new ModuleList<DebertaLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new DebertaLayer(config)).ToArray());
        encoder.Add("layer", _layers);
        if (config.RelativeAttention)
        {
            _relEmbeddings = Embedding(config.RelativeSpan * 2, config.HiddenSize);
            encoder.Add("rel_embeddings", _relEmbeddings);
        }
        if (config.NormRelEbd.ToLowerInvariant().Split('|').Select(s => s.Trim()).Contains("layer_norm"))
        {
            _relNorm = LayerNorm(config.HiddenSize, config.LayerNormEps);
            encoder.Add("LayerNorm", _relNorm);
        }
        if (config.ConvKernelSize > 0)
        {
            _conv = new ConvLayer(config);
            encoder.Add("conv", _conv);
        }
        register_module("encoder", encoder);
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
        var embedded = Embed(inputIds, attentionMask, tokenTypeIds);

        // [batch, 1, tokens, tokens]: true where both the query and the key are real tokens.
        var keep = attentionMask.to(ScalarType.Bool);
        var pairMask = keep.unsqueeze(1).unsqueeze(2).logical_and(keep.unsqueeze(1).unsqueeze(3));
        Tensor? relativePos = null, relEmbeddings = null;
        if (_relEmbeddings is not null)
        {
            relativePos = RelativePositions(tokens, Config.PositionBuckets, Config.MaxRelativeDistance).to(inputIds.device);
            relEmbeddings = _relEmbeddings.weight!;
            if (_relNorm is not null)
            {
                relEmbeddings = _relNorm.call(relEmbeddings);
            }
        }
        var hidden = embedded;
        for (int i = 0; i < _layers.Count; i++)
        {
            hidden = _layers[i].Forward(hidden, pairMask, relativePos, relEmbeddings);
            if (i == 0 && _conv is not null)
            {
                hidden = _conv.Forward(embedded, hidden, attentionMask);
            }
        }
        return hidden.MoveToOuterDisposeScope();
    }

    private Tensor Embed(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds)
    {
        long tokens = inputIds.shape[1];
        var sum = _word.call(inputIds);
        if (_position is not null)
        {
            var positions = HeldScalars.Arange(tokens, inputIds.device).unsqueeze(0);
            sum = sum.Plus(_position.call(positions));
        }
        if (_tokenType is not null)
        {
            sum = sum.Plus(_tokenType.call(tokenTypeIds ?? torch.zeros_like(inputIds)));
        }
        if (_embedProj is not null)
        {
            sum = _embedProj.call(sum);
        }
        var normed = _embedNorm.call(sum) * attentionMask.to(sum.dtype).unsqueeze(2);
        return _embedDropout.call(normed);
    }

    /// <summary>Relative positions <c>i - j</c> <c>[tokens, tokens]</c>, log-bucketed beyond half the bucket count
    /// (float32 arithmetic, as Hugging Face's <c>make_log_bucket_position</c>).</summary>
    internal static Tensor RelativePositions(long tokens, int bucketSize, int maxPosition)
    {
        using var scope = torch.NewDisposeScope();
        var ids = HeldScalars.Arange(tokens);
        var rel = ids.unsqueeze(1).Minus(ids.unsqueeze(0));
        if (bucketSize <= 0 || maxPosition <= 0)
        {
            return rel.MoveToOuterDisposeScope();
        }
        int mid = bucketSize / 2;
        using var midInt = ((long)mid).ToScalar();
        using var minusMid = (-(long)mid).ToScalar();
        using var midFloat = ((float)mid).ToScalar();
        using var midLess1 = ((float)(mid - 1)).ToScalar();
        var sign = rel.sign();
        var inside = rel.lt(midInt).logical_and(rel.gt(minusMid));
        var absPos = torch.where(inside, torch.tensor((long)(mid - 1)), rel.abs());
        var ratio = absPos.to(ScalarType.Float32).div(midFloat);
        var logDen = torch.tensor((float)((maxPosition - 1) / (double)mid)).log();
        var logPos = ratio.log().div(logDen).mul(midLess1).ceil().add(midFloat, HeldScalars.One);
        var bucket = torch.where(absPos.le(midInt), rel.to(ScalarType.Float32), logPos.mul(sign.to(ScalarType.Float32)));
        return bucket.to(ScalarType.Int64).MoveToOuterDisposeScope();
    }

    private sealed class DebertaLayer : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        private readonly Linear _query, _key, _value, _attnOut, _intermediate, _output;
        private readonly Linear? _posKey, _posQuery;
        private readonly LayerNorm _attnNorm, _outNorm;
        private readonly Dropout _attnDropout, _hiddenDropout, _posDropout;
        private readonly int _heads, _headSize, _span;
        private readonly bool _c2p, _p2c, _shareKey;
        private readonly string _act;

        public DebertaLayer(TransformerConfig c) : base("DebertaLayer")
        {
            _heads = c.NumAttentionHeads;
            _headSize = c.HiddenSize / c.NumAttentionHeads;
            _act = c.HiddenAct;
            _span = c.RelativeSpan;
            _c2p = c.RelativeAttention && c.PosAttType.Contains("c2p");
            _p2c = c.RelativeAttention && c.PosAttType.Contains("p2c");
            _shareKey = c.ShareAttKey;
            _query = Linear(c.HiddenSize, c.HiddenSize);
            _key = Linear(c.HiddenSize, c.HiddenSize);
            _value = Linear(c.HiddenSize, c.HiddenSize);
            var self = new Container();
            self.Add("query_proj", _query);
            self.Add("key_proj", _key);
            self.Add("value_proj", _value);
            if (c.RelativeAttention && !_shareKey)
            {
                if (_c2p)
                {
                    _posKey = Linear(c.HiddenSize, c.HiddenSize);
                    self.Add("pos_key_proj", _posKey);
                }
                if (_p2c)
                {
                    _posQuery = Linear(c.HiddenSize, c.HiddenSize);
                    self.Add("pos_query_proj", _posQuery);
                }
            }
            _posDropout = Dropout(c.HiddenDropoutProb);
            _attnDropout = Dropout(c.AttentionProbsDropoutProb);
            self.Add("pos_dropout", _posDropout);
            self.Add("dropout", _attnDropout);
            _attnOut = Linear(c.HiddenSize, c.HiddenSize);
            _attnNorm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _intermediate = Linear(c.HiddenSize, c.IntermediateSize);
            _output = Linear(c.IntermediateSize, c.HiddenSize);
            _outNorm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _hiddenDropout = Dropout(c.HiddenDropoutProb);
            var attnOutput = new Container();
            attnOutput.Add("dense", _attnOut);
            attnOutput.Add("LayerNorm", _attnNorm);
            var attention = new Container();
            attention.Add("self", self);
            attention.Add("output", attnOutput);
            var intermediate = new Container();
            intermediate.Add("dense", _intermediate);
            var output = new Container();
            output.Add("dense", _output);
            output.Add("LayerNorm", _outNorm);
            register_module("attention", attention);
            register_module("intermediate", intermediate);
            register_module("output", output);
            register_module("hidden_dropout", _hiddenDropout);
        }

        public Tensor Forward(Tensor hidden, Tensor pairMask, Tensor? relativePos, Tensor? relEmbeddings)
        {
            using var scope = torch.NewDisposeScope();
            long batch = hidden.shape[0], tokens = hidden.shape[1];
            Tensor Heads(Linear proj, Tensor x) => proj.call(x).view(x.shape[0], x.shape[1], _heads, _headSize).transpose(1, 2);
            var q = Heads(_query, hidden);
            var k = Heads(_key, hidden);
            var v = Heads(_value, hidden);
            int factor = 1 + (_c2p ? 1 : 0) + (_p2c ? 1 : 0);
            using var scale = MathF.Sqrt(_headSize * factor).ToScalar(); // held for the call (TransformerEncoder.AdditiveMask)
            var scores = torch.matmul(q, k.transpose(-1, -2)).div(scale);
            if (relativePos is not null && relEmbeddings is not null && (_c2p || _p2c))
            {
                scores = scores.Plus(RelativeScores(q, k, relativePos, relEmbeddings, scale));
            }
            var dropped = pairMask.logical_not();
            using var min = MinValue(scores.dtype).ToScalar();
            using var zero = 0.0.ToScalar();
            var probs = PrecisionPolicy.Softmax(scores.masked_fill(dropped, min)).masked_fill(dropped, zero);
            probs = _attnDropout.call(probs);
            var context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, tokens, _heads * _headSize);
            var attended = _attnNorm.call(_hiddenDropout.call(_attnOut.call(context)).Plus(hidden));
            var inner = Activate(_act, _intermediate.call(attended));
            var output = _outNorm.call(_hiddenDropout.call(_output.call(inner)).Plus(attended));
            return output.MoveToOuterDisposeScope();
        }

        /// <summary>c2p: <c>q · pos_key[clamp(δ(i, j) + span)]</c>; p2c: <c>k_j · pos_query[clamp(-δ(j, i) + span)]</c>;
        /// both divided by <paramref name="scale"/>.</summary>
        private Tensor RelativeScores(Tensor q, Tensor k, Tensor relativePos, Tensor relEmbeddings, Scalar scale)
        {
            using var span = _span.ToScalar();
            using var low = 0.ToScalar();
            using var high = (2 * _span - 1).ToScalar();
            long batch = q.shape[0], tokens = q.shape[2];
            var rel = _posDropout.call(relEmbeddings.narrow(0, 0, Math.Min(2L * _span, relEmbeddings.shape[0]))).unsqueeze(0);
            Tensor PosHeads(Linear proj) => proj.call(rel).view(1, -1, _heads, _headSize).transpose(1, 2); // [1, heads, 2·span, d]
            Tensor result = torch.zeros(1, dtype: q.dtype, device: q.device);
            var index = relativePos.unsqueeze(0).unsqueeze(0).expand(batch, _heads, tokens, tokens);
            if (_c2p)
            {
                var posKey = PosHeads(_shareKey ? _key : _posKey!);
                var c2p = torch.matmul(q, posKey.transpose(-1, -2)); // [batch, heads, tokens, 2·span]
                var c2pPos = index.add(span, HeldScalars.One).clamp(low, high);
                result = result.Plus(c2p.gather(-1, c2pPos).div(scale));
            }
            if (_p2c)
            {
                var posQuery = PosHeads(_shareKey ? _query : _posQuery!);
                var p2c = torch.matmul(k, posQuery.transpose(-1, -2)); // [batch, heads, keys, 2·span]
                var p2cPos = index.neg().add_(span, HeldScalars.One).clamp(low, high);
                result = result.Plus(p2c.gather(-1, p2cPos).transpose(-1, -2).div(scale));
            }
            return result;
        }
    }

    /// <summary>DeBERTa-v2's convolution after the first layer: <c>LayerNorm(residual + act(conv(embeddings)))</c>,
    /// zero at padding.</summary>
    private sealed class ConvLayer : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        private readonly Conv1d _conv;
        private readonly LayerNorm _norm;
        private readonly Dropout _dropout;
        private readonly string _act;

        public ConvLayer(TransformerConfig c) : base("ConvLayer")
        {
            _act = c.ConvAct;
            _conv = Conv1d(c.HiddenSize, c.HiddenSize, c.ConvKernelSize, padding: (c.ConvKernelSize - 1) / 2, groups: c.ConvGroups);
            _norm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _dropout = Dropout(c.HiddenDropoutProb);
            register_module("conv", _conv);
            register_module("LayerNorm", _norm);
            register_module("dropout", _dropout);
        }

        public Tensor Forward(Tensor embedded, Tensor residual, Tensor attentionMask)
        {
            using var scope = torch.NewDisposeScope();
            var mask = attentionMask.to(residual.dtype).unsqueeze(2);
            var conv = _conv.call(embedded.permute(0, 2, 1).contiguous()).permute(0, 2, 1) * mask;
            var output = _norm.call(residual.Plus(TransformerEncoder.Activate(_act, _dropout.call(conv))));
            return (output * mask).MoveToOuterDisposeScope();
        }
    }
}
