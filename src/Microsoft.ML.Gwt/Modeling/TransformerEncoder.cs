using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// A BERT/RoBERTa-family encoder (post-LayerNorm transformer) whose parameter names match Hugging Face's
/// <c>BertModel</c>/<c>RobertaModel</c> (<c>embeddings.word_embeddings.weight</c>,
/// <c>encoder.layer.0.attention.self.query.weight</c>, …, <c>pooler.dense.weight</c>), so checkpoints load by name.
/// </summary>
public sealed class TransformerEncoder : nn.Module
{
    /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
    protected override void RegisterComponents()
    {
    }

    private readonly Embeddings _embeddings;
    private readonly ModuleList<EncoderLayer> _layers;
    private readonly Linear? _pooler;

    /// <summary>Creates an encoder with Hugging Face's initialization (normal(0, initializer_range), zero biases).</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="addPooler">Whether to include the <c>pooler.dense</c> layer (BERT's sequence classifier uses it).</param>
    public TransformerEncoder(TransformerConfig config, bool addPooler = true) : base("TransformerEncoder")
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
        _embeddings = new Embeddings(config);
        register_module("embeddings", _embeddings);
        _layers = new ModuleList<EncoderLayer>(Enumerable.Range(0, config.NumHiddenLayers).Select(_ => new EncoderLayer(config)).ToArray());
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

    /// <summary>The architecture.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Whether the encoder has a pooler.</summary>
    public bool HasPooler => _pooler is not null;

    /// <summary>
    /// Runs the encoder. <paramref name="inputIds"/> and <paramref name="attentionMask"/> are <c>[batch, tokens]</c>
    /// int64 (mask: 1 for real tokens, 0 for padding); <paramref name="tokenTypeIds"/> may be null (all 0).
    /// Returns the last hidden state <c>[batch, tokens, hidden]</c>.
    /// </summary>
    public Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        ArgumentNullException.ThrowIfNull(attentionMask);
        using var scope = torch.NewDisposeScope();
        var positions = PositionIds(inputIds, attentionMask);
        var types = tokenTypeIds ?? torch.zeros_like(inputIds);
        var hidden = _embeddings.Forward(inputIds, types, positions);
        // Additive mask [batch, 1, 1, tokens]: 0 for tokens, the dtype's minimum for padding (as Hugging Face).
        var keep = attentionMask.to(hidden.dtype).unsqueeze(1).unsqueeze(2);
        var additive = (1.0 - keep) * MinValue(hidden.dtype);
        foreach (var layer in _layers)
        {
            hidden = layer.Forward(hidden, additive);
        }
        return hidden.MoveToOuterDisposeScope();
    }

    /// <summary>BERT's pooler: <c>tanh(dense(hidden[:, 0]))</c>.</summary>
    public Tensor Pool(Tensor lastHidden)
    {
        if (_pooler is null)
        {
            throw new InvalidOperationException("This encoder was created without a pooler.");
        }
        using var first = lastHidden.select(1, 0);
        using var dense = _pooler.call(first);
        return dense.tanh();
    }

    private Tensor PositionIds(Tensor inputIds, Tensor attentionMask)
    {
        long tokens = inputIds.shape[1];
        if (tokens > Config.MaxSequenceLength)
        {
            throw new ArgumentException($"The batch has {tokens} tokens per row but the position table allows {Config.MaxSequenceLength}.", nameof(inputIds));
        }
        if (Config.Family == TransformerFamily.Roberta)
        {
            // RoBERTa: positions count real tokens from padding_idx + 1; padding gets padding_idx.
            var mask = inputIds.ne(Config.PadTokenId).to(ScalarType.Int64);
            return torch.cumsum(mask, 1).mul_(mask).add_(Config.PadTokenId);
        }
        return torch.arange(tokens, ScalarType.Int64, inputIds.device).unsqueeze(0).expand(inputIds.shape[0], tokens);
    }

    private static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    internal static void InitializeWeights(nn.Module module, TransformerConfig config)
    {
        using var noGrad = torch.no_grad();
        foreach (var (_, m) in module.named_modules())
        {
            switch (m)
            {
                case Linear linear:
                    init.normal_(linear.weight, 0, config.InitializerRange);
                    if (linear.bias is not null)
                    {
                        init.zeros_(linear.bias);
                    }
                    break;
                case Embedding embedding:
                    init.normal_(embedding.weight, 0, config.InitializerRange);
                    break;
                case LayerNorm norm:
                    init.ones_(norm.weight);
                    init.zeros_(norm.bias);
                    break;
            }
        }
    }

    /// <summary>A module that only names its children.</summary>
    internal sealed class Container : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        public Container() : base("Container")
        {
        }

        public void Add(string name, nn.Module child) => register_module(name, child);
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
            _word = Embedding(c.VocabSize, c.HiddenSize);
            _position = Embedding(c.MaxPositionEmbeddings, c.HiddenSize);
            _tokenType = Embedding(c.TypeVocabSize, c.HiddenSize);
            _norm = LayerNorm(c.HiddenSize, c.LayerNormEps);
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
            using var sum = w + p + t;
            using var normed = _norm.call(sum);
            return _dropout.call(normed);
        }
    }

    private sealed class EncoderLayer : nn.Module
    {
        /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
        protected override void RegisterComponents()
        {
        }

        private readonly Linear _query, _key, _value, _attnOut, _intermediate, _output;
        private readonly LayerNorm _attnNorm, _outNorm;
        private readonly Dropout _attnDropout, _hiddenDropout;
        private readonly int _heads, _headSize;
        private readonly string _act;

        public EncoderLayer(TransformerConfig c) : base("EncoderLayer")
        {
            _heads = c.NumAttentionHeads;
            _headSize = c.HiddenSize / c.NumAttentionHeads;
            _act = c.HiddenAct;
            _query = Linear(c.HiddenSize, c.HiddenSize);
            _key = Linear(c.HiddenSize, c.HiddenSize);
            _value = Linear(c.HiddenSize, c.HiddenSize);
            _attnOut = Linear(c.HiddenSize, c.HiddenSize);
            _attnNorm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _intermediate = Linear(c.HiddenSize, c.IntermediateSize);
            _output = Linear(c.IntermediateSize, c.HiddenSize);
            _outNorm = LayerNorm(c.HiddenSize, c.LayerNormEps);
            _attnDropout = Dropout(c.AttentionProbsDropoutProb);
            _hiddenDropout = Dropout(c.HiddenDropoutProb);

            var self = new Container();
            self.Add("query", _query);
            self.Add("key", _key);
            self.Add("value", _value);
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
            register_module("attention_dropout", _attnDropout);
            register_module("hidden_dropout", _hiddenDropout);
        }

        public Tensor Forward(Tensor hidden, Tensor additiveMask)
        {
            using var scope = torch.NewDisposeScope();
            long batch = hidden.shape[0], tokens = hidden.shape[1];
            Tensor Heads(Linear proj) => proj.call(hidden).view(batch, tokens, _heads, _headSize).transpose(1, 2);
            var q = Heads(_query);
            var k = Heads(_key);
            var v = Heads(_value);
            var scores = torch.matmul(q, k.transpose(-1, -2)).div_(Math.Sqrt(_headSize)).add_(additiveMask);
            var probs = _attnDropout.call(scores.softmax(-1));
            var context = torch.matmul(probs, v).transpose(1, 2).reshape(batch, tokens, _heads * _headSize);
            var attended = _attnNorm.call(_hiddenDropout.call(_attnOut.call(context)).add_(hidden));
            var inner = Activate(_intermediate.call(attended));
            var output = _outNorm.call(_hiddenDropout.call(_output.call(inner)).add_(attended));
            return output.MoveToOuterDisposeScope();
        }

        private Tensor Activate(Tensor x) => _act switch
        {
            "relu" => functional.relu(x),
            "gelu" => functional.gelu(x),
            // tanh approximation: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            _ => x * 0.5 * (1.0 + ((x + x.pow(3) * 0.044715) * Math.Sqrt(2.0 / Math.PI)).tanh()),
        };
    }
}
