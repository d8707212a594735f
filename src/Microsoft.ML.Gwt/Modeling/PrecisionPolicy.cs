using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// Mixed-precision numerics for a transformer model, written for TorchSharp (which has no autocast): after
/// <see cref="Apply"/>, Linear layers (attention projections, feed-forward, heads), attention's matrix products and
/// embedding gathers run in the compute type (bfloat16 or float16); LayerNorms keep float32 weights and compute their
/// statistics in float32 (their input is widened, their output rounded back to the compute type); attention softmax runs
/// in float32 (<see cref="Softmax"/>); the model's logits are float32 (<see cref="TextClassificationModel.Forward"/>
/// widens them), so the loss is too. GELU runs in the compute type: libtorch evaluates it in float32 internally and
/// rounds once.
/// </summary>
/// <remarks>
/// <para>Applying the policy casts the parameters of every leaf module except LayerNorms to the compute type. TorchSharp
/// replaces a module's <see cref="Parameter"/> objects when it casts them, so apply the policy before creating an
/// optimizer over the parameters, and keep float32 master weights in the optimizer
/// (<see cref="Optim.GwtAdamOptions.MasterWeights"/>, on by default).</para>
/// <para>Everything is done through module forward hooks, so it applies to every family's encoder and head without
/// changes to their code; <see cref="Dispose"/> removes the hooks (it does not cast the parameters back).</para>
/// </remarks>
public sealed class PrecisionPolicy : IDisposable
{
    private readonly List<Action> _hooks = new();

    private PrecisionPolicy(ScalarType computeType)
    {
        ComputeType = computeType;
    }

    /// <summary>The type Linear layers, attention products and embeddings compute in.</summary>
    public ScalarType ComputeType { get; }

    /// <summary>
    /// Casts <paramref name="model"/>'s parameters and buffers to <paramref name="computeType"/> except those of
    /// LayerNorms, and installs the hooks that run LayerNorms in float32. <see cref="ScalarType.Float32"/> changes
    /// nothing (a policy with no hooks).
    /// </summary>
    /// <param name="model">The model (any module tree; LayerNorms are found by type).</param>
    /// <param name="computeType">Float32, BFloat16 or Float16.</param>
    /// <exception cref="ArgumentException"><paramref name="computeType"/> is another type.</exception>
    public static PrecisionPolicy Apply(nn.Module model, ScalarType computeType)
    {
        ArgumentNullException.ThrowIfNull(model);
        if (computeType is not (ScalarType.Float32 or ScalarType.BFloat16 or ScalarType.Float16))
        {
            throw new ArgumentException($"The compute type must be Float32, BFloat16 or Float16, not {computeType}.", nameof(computeType));
        }
        var policy = new PrecisionPolicy(computeType);
        if (computeType == ScalarType.Float32)
        {
            return policy;
        }
        foreach (var (_, module) in model.named_modules().ToList())
        {
            if (module is LayerNorm norm)
            {
                policy.HookLayerNorm(norm);
            }
            else if (!module.named_children().Any() && (module.parameters().Any() || module.buffers().Any()))
            {
                module.to(computeType);
            }
        }
        return policy;
    }

    /// <summary>Softmax over the last axis, computed in float32 and returned in <paramref name="scores"/>'s type (float32
    /// scores take libtorch's softmax unchanged).</summary>
    public static Tensor Softmax(Tensor scores)
    {
        ArgumentNullException.ThrowIfNull(scores);
        if (!IsLowPrecision(scores.dtype))
        {
            return scores.softmax(-1);
        }
        using var wide = scores.softmax(-1, ScalarType.Float32);
        return wide.to(scores.dtype);
    }

    /// <summary><paramref name="logits"/> as float32 (itself when it already is).</summary>
    public static Tensor Float32(Tensor logits)
    {
        ArgumentNullException.ThrowIfNull(logits);
        return logits.dtype == ScalarType.Float32 ? logits : logits.to(ScalarType.Float32);
    }

    /// <summary>Whether <paramref name="dtype"/> is bfloat16 or float16.</summary>
    public static bool IsLowPrecision(ScalarType dtype) => dtype is ScalarType.BFloat16 or ScalarType.Float16;

    /// <summary>Removes the hooks (parameters keep their types).</summary>
    public void Dispose()
    {
        foreach (var hook in _hooks)
        {
            hook();
        }
        _hooks.Clear();
    }

    private void HookLayerNorm(LayerNorm norm)
    {
        var compute = ComputeType;
        var widen = norm.register_forward_pre_hook((_, input) => input.dtype == ScalarType.Float32 ? input : input.to(ScalarType.Float32));
        var narrow = norm.register_forward_hook((_, _, output) => output.to(compute));
        _hooks.Add(widen.remove);
        _hooks.Add(narrow.remove);
    }
}
