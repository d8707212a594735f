using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// A transformer encoder whose parameter names match Hugging Face's base model of its family
/// (<c>embeddings.word_embeddings.weight</c>, <c>encoder.layer.0.attention.self.query.weight</c>,
/// <c>transformer.layer.0.attention.q_lin.weight</c>, ...), so checkpoints load by name. <see cref="Create"/> picks
/// the implementation from <see cref="TransformerConfig.ModelType"/>.
/// </summary>
public abstract class TransformerEncoder : nn.Module
{
    /// <summary>Children are registered explicitly under Hugging Face names; TorchSharp's field scan would add them twice.</summary>
    protected override void RegisterComponents()
    {
    }

    /// <summary>Validates <paramref name="config"/> and keeps it.</summary>
    protected TransformerEncoder(string name, TransformerConfig config) : base(name)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        Config = config;
    }

    /// <summary>Creates the encoder of <paramref name="config"/>'s family with Hugging Face's initialization
    /// (normal(0, initializer_range), zero biases, unit LayerNorms).</summary>
    /// <param name="config">The architecture.</param>
    /// <param name="addPooler">BERT only: whether to include <c>pooler.dense</c> (BERT's sequence classifier uses it).</param>
    /// <exception cref="NotSupportedException">The model type is not supported.</exception>
    public static TransformerEncoder Create(TransformerConfig config, bool addPooler = true)
    {
        ArgumentNullException.ThrowIfNull(config);
        config.Validate();
        return config.Family switch
        {
            TransformerFamily.DistilBert => new DistilBertEncoder(config),
            TransformerFamily.DebertaV2 => new DebertaV2Encoder(config),
            _ => new BertEncoder(config, addPooler && config.Family == TransformerFamily.Bert),
        };
    }

    /// <summary>The architecture.</summary>
    public TransformerConfig Config { get; }

    /// <summary>Whether the encoder has BERT's pooler (<see cref="Pool"/>).</summary>
    public virtual bool HasPooler => false;

    /// <summary>
    /// Runs the encoder. <paramref name="inputIds"/> and <paramref name="attentionMask"/> are <c>[batch, tokens]</c>
    /// int64 (mask: 1 for real tokens, 0 for padding); <paramref name="tokenTypeIds"/> may be null (all 0) and is
    /// ignored by families without token types. Returns the last hidden state <c>[batch, tokens, hidden]</c>.
    /// </summary>
    /// <exception cref="ArgumentException">The batch is longer than the position table.</exception>
    public abstract Tensor Forward(Tensor inputIds, Tensor attentionMask, Tensor? tokenTypeIds = null);

    /// <summary>BERT's pooler: <c>tanh(dense(hidden[:, 0]))</c>.</summary>
    /// <exception cref="InvalidOperationException">The encoder has no pooler.</exception>
    public virtual Tensor Pool(Tensor lastHidden) =>
        throw new InvalidOperationException($"This {Config.ModelType} encoder has no pooler.");

    /// <summary>Throws when <paramref name="inputIds"/> has more tokens per row than the position table allows.</summary>
    protected void CheckLength(Tensor inputIds)
    {
        ArgumentNullException.ThrowIfNull(inputIds);
        long tokens = inputIds.shape[1];
        if (tokens > Config.MaxSequenceLength)
        {
            throw new ArgumentException($"The batch has {tokens} tokens per row but the position table allows {Config.MaxSequenceLength}.", nameof(inputIds));
        }
    }

    /// <summary>The most negative finite value of <paramref name="dtype"/> (Hugging Face's mask fill).</summary>
    internal static double MinValue(ScalarType dtype) => dtype switch
    {
        ScalarType.Float16 => -65504.0,
        ScalarType.BFloat16 => -3.3895313892515355e38,
        ScalarType.Float64 => double.MinValue,
        _ => float.MinValue,
    };

    /// <summary>Hugging Face's activations by name: <c>gelu</c> (erf), <c>relu</c>, <c>tanh</c>, and the tanh
    /// approximation (<c>gelu_new</c>, <c>gelu_pytorch_tanh</c>, <c>gelu_fast</c>).</summary>
    internal static Tensor Activate(string name, Tensor x) => name switch
    {
        "relu" => functional.relu(x),
        "gelu" => functional.gelu(x),
        "tanh" => x.tanh(),
        _ => GeluTanh(x),
    };

    // The tanh approximation's constants, held for the process (never collected mid-call; see AdditiveMask).
    private static readonly Scalar GeluHalf = 0.5.ToScalar();
    private static readonly Scalar GeluOne = 1.0.ToScalar();
    private static readonly Scalar GeluCubeFactor = 0.044715.ToScalar();
    private static readonly Scalar GeluRoot = Math.Sqrt(2.0 / Math.PI).ToScalar();
    private static readonly Scalar GeluThree = 3.ToScalar();

    /// <summary>The tanh approximation of GELU: <c>0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))</c>.</summary>
    private static Tensor GeluTanh(Tensor x)
    {
        using var scope = torch.NewDisposeScope();
        // Out of place throughout, as autograd needs (tanh's output is saved for its backward).
        var inner = x.pow(GeluThree).mul(GeluCubeFactor).Plus(x).mul(GeluRoot).tanh().add(GeluOne, HeldScalars.One);
        return x.mul(GeluHalf).mul(inner).MoveToOuterDisposeScope();
    }

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
                case Conv1d conv:
                    init.normal_(conv.weight, 0, config.InitializerRange);
                    if (conv.bias is not null)
                    {
                        init.zeros_(conv.bias);
                    }
                    break;
            }
        }
    }

    /// <summary>Additive attention mask <c>[batch, 1, 1, tokens]</c>: 0 for tokens, the dtype's minimum for padding.</summary>
    /// <remarks>Every constant that goes to libtorch on the data path is a <see cref="Scalar"/> the caller holds in a
    /// <c>using</c> for the whole call. An implicit conversion (<c>1.0 - tensor</c>, <c>tensor * double</c>) makes a
    /// temporary Scalar that nothing references once its handle is passed, so the GC may finalize it while libtorch still
    /// reads it ("Unknown scalar type" from <c>at::native::add</c>, dotnet/TorchSharp#1496).</remarks>
    internal static Tensor AdditiveMask(Tensor attentionMask, ScalarType dtype)
    {
        using var scope = torch.NewDisposeScope();
        using var one = 1.0.ToScalar();
        using var min = MinValue(dtype).ToScalar();
        var keep = attentionMask.to(dtype).unsqueeze(1).unsqueeze(2);
        return keep.neg().add_(one, HeldScalars.One).mul_(min).MoveToOuterDisposeScope();
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
}
