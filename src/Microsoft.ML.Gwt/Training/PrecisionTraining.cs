using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// The precision-dependent parts of a training step, one code path for every precision: the policy on the model, the
/// loss scale, gradient clipping, the optimizer step, and turning the model back into float32 master weights at the end.
/// In float32 it does exactly what the loop always did (in-place <c>clip_grad_norm_</c>, then <c>step</c>). In bfloat16
/// and float16 the low-precision gradients are never rewritten: the clipping factor (and, in float16, the loss scale's
/// inverse) reach the optimizer as <see cref="GwtAdam.GradientScale"/> and are applied in float32.
/// </summary>
internal sealed class PrecisionTraining : IDisposable
{
    private readonly PrecisionPolicy _policy;
    private double _clipFactor = 1.0;

    /// <summary>Applies the precision policy to <paramref name="model"/> (before the optimizer is created over its parameters).</summary>
    public PrecisionTraining(nn.Module model, ScalarType computeType)
    {
        _policy = PrecisionPolicy.Apply(model, computeType);
        ComputeType = computeType;
        Scaler = computeType == ScalarType.Float16 ? new DynamicLossScaler() : null;
    }

    /// <summary>The compute type.</summary>
    public ScalarType ComputeType { get; }

    /// <summary>Whether the model computes in bfloat16 or float16.</summary>
    public bool IsLowPrecision => ComputeType != ScalarType.Float32;

    /// <summary>The float16 loss scaler (null otherwise).</summary>
    public DynamicLossScaler? Scaler { get; }

    /// <summary>The factor the loss is multiplied by before backward (1 except in float16).</summary>
    public double LossScale => Scaler?.Scale ?? 1.0;

    /// <summary>
    /// Measures the global norm of the true (unscaled) gradient and clips it to <paramref name="maxNorm"/> (0: no
    /// clipping): in float32 in place, as <c>torch.nn.utils.clip_grad_norm_</c>; in low precision by remembering the
    /// factor for <see cref="Step"/>. Returns the norm before clipping (non-finite when a gradient is, or overflowed).
    /// </summary>
    public double ClipGradients(IReadOnlyList<Parameter> parameters, double maxNorm)
    {
        if (!IsLowPrecision)
        {
            if (maxNorm > 0)
            {
                return nn.utils.clip_grad_norm_(parameters, maxNorm);
            }
            // Tensor.norm takes p as a float; linalg.vector_norm makes a temporary Scalar that may be freed mid-call (HeldScalars).
            var norms = parameters.Select(p => p.grad).Where(g => g is not null).Select(g => g!.norm()).ToArray();
            return norms.Length == 0 ? 0 : torch.stack(norms).norm().item<float>();
        }
        double sumSquares = 0;
        foreach (var p in parameters)
        {
            var g = p.grad;
            if (g is null)
            {
                continue;
            }
            using var wide = g.to(ScalarType.Float32);
            using var norm = wide.norm();
            double n = norm.item<float>();
            sumSquares += n * n;
        }
        double total = Math.Sqrt(sumSquares) / LossScale;
        // torch's rule: clip_coef = max_norm / (total_norm + 1e-6), clamped to at most 1.
        _clipFactor = maxNorm > 0 && double.IsFinite(total) ? Math.Min(1.0, maxNorm / (total + 1e-6)) : 1.0;
        return total;
    }

    /// <summary>Applies the optimizer step for gradients whose norm was finite.</summary>
    public void Step(GwtAdam optimizer)
    {
        if (!IsLowPrecision)
        {
            optimizer.step();
            return;
        }
        if (Scaler is not null)
        {
            Scaler.Step(optimizer, gradientsFinite: true, extraScale: _clipFactor);
            return;
        }
        double previous = optimizer.GradientScale;
        optimizer.GradientScale = _clipFactor;
        try
        {
            optimizer.step();
        }
        finally
        {
            optimizer.GradientScale = previous;
        }
    }

    /// <summary>Whether a non-finite gradient with a finite loss is a float16 overflow that the loss scaler handles
    /// (skip the step and halve the scale) rather than a non-finite step.</summary>
    public bool HandlesOverflow => Scaler is not null;

    /// <summary>Skips an overflowing float16 step: the scale halves. Returns the new scale.</summary>
    public double Overflowed(GwtAdam optimizer)
    {
        Scaler!.Step(optimizer, gradientsFinite: false);
        return Scaler.Scale;
    }

    /// <summary>The model's weights as float32 for a snapshot: master weights for low-precision parameters, a float32
    /// copy of everything else. The caller owns the tensors.</summary>
    public Dictionary<string, Tensor> SnapshotWeights(nn.Module model, GwtAdam optimizer)
    {
        using var noGrad = torch.no_grad();
        var parameters = model.named_parameters().ToDictionary(p => p.name, p => p.parameter);
        return model.state_dict().ToDictionary(kv => kv.Key, kv =>
            parameters.TryGetValue(kv.Key, out var p) && IsLowPrecision
                ? optimizer.MasterWeight(p).clone()
                : kv.Value.to(ScalarType.Float32, copy: true));
    }

    /// <summary>Ends training: removes the hooks and turns the model back into float32 holding the master weights exactly
    /// (the low-precision copies are rounded; the model that is returned and saved is the float32 one).</summary>
    public void RestoreFloat32(nn.Module model, GwtAdam optimizer)
    {
        _policy.Dispose();
        if (!IsLowPrecision)
        {
            return;
        }
        var masters = SnapshotWeights(model, optimizer);
        try
        {
            model.to(ScalarType.Float32);
            using var noGrad = torch.no_grad();
            foreach (var (name, t) in model.state_dict())
            {
                t.copy_(masters[name]);
            }
        }
        finally
        {
            foreach (var t in masters.Values)
            {
                t.Dispose();
            }
        }
    }

    /// <inheritdoc />
    public void Dispose() => _policy.Dispose();
}
