using Microsoft.ML.Gwt.Modeling;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Scoring in the model's precision: a low-precision copy of the float32 model, built on first use.</summary>
public sealed partial class GwtTextClassificationTransformer
{
    private readonly object _scoringLock = new();
    private GwtPrecision? _scoringPrecision;
    private (TextClassificationModel Model, PrecisionPolicy Policy)? _lowPrecision;

    /// <summary>
    /// The precision <c>Transform</c>, <c>PredictionEngine</c> and <see cref="Predict"/> compute in: the training run's
    /// (<see cref="GwtTextClassificationTrainer.Options.Precision"/> as resolved on its hardware), saved with the model;
    /// set it to score otherwise. <see cref="Model"/> always holds the float32 weights; bfloat16 or float16 scoring uses a
    /// copy of them cast by <see cref="PrecisionPolicy"/> (float32 LayerNorm statistics, softmax and logits), built on first
    /// use. Float16 falls back to float32 on the CPU. Do not set it while rows are being scored on another thread.
    /// </summary>
    /// <exception cref="ArgumentException"><see cref="GwtPrecision.Auto"/>: set a concrete precision.</exception>
    public GwtPrecision ScoringPrecision
    {
        get => _scoringPrecision ?? Options.Precision;
        set
        {
            if (value == GwtPrecision.Auto)
            {
                throw new ArgumentException($"{nameof(ScoringPrecision)} must be Float32, BFloat16 or Float16.", nameof(ScoringPrecision));
            }
            _moveLock.EnterWriteLock();
            try
            {
                _scoringPrecision = value;
                DropLowPrecisionCopy();
            }
            finally
            {
                _moveLock.ExitWriteLock();
            }
        }
    }

    /// <summary>The module scoring runs: the float32 model, or its low-precision copy. Call under the move lock.</summary>
    private TextClassificationModel ScoringModel()
    {
        var dtype = ScoringPrecision switch
        {
            GwtPrecision.BFloat16 => ScalarType.BFloat16,
            GwtPrecision.Float16 when _device.type == DeviceType.CUDA => ScalarType.Float16,
            _ => ScalarType.Float32,
        };
        if (dtype == ScalarType.Float32)
        {
            return _model;
        }
        lock (_scoringLock)
        {
            if (_lowPrecision is null || _lowPrecision.Value.Policy.ComputeType != dtype)
            {
                DropLowPrecisionCopy();
                _lowPrecision = LowPrecisionCopy(dtype);
            }
            return _lowPrecision.Value.Model;
        }
    }

    private (TextClassificationModel, PrecisionPolicy) LowPrecisionCopy(ScalarType dtype)
    {
        // The copy's random initialization is overwritten at once; the caller's generator state is kept.
        using var rng = torch.random.get_rng_state();
        var copy = new TextClassificationModel(Config, NumClasses);
        torch.random.set_rng_state(rng);
        using (torch.no_grad())
        {
            var source = _model.state_dict();
            foreach (var (name, t) in copy.state_dict())
            {
                t.copy_(source[name]);
            }
        }
        copy.to(_device);
        copy.eval();
        return (copy, PrecisionPolicy.Apply(copy, dtype));
    }

    private void DropLowPrecisionCopy()
    {
        if (_lowPrecision is { } old)
        {
            old.Policy.Dispose();
            old.Model.Dispose();
            _lowPrecision = null;
        }
    }
}
