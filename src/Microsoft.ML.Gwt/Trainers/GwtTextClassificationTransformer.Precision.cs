using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Scoring in the model's precision: a low-precision copy of the float32 model, built on first use.</summary>
public sealed partial class GwtTextClassificationTransformer
{
    private readonly object _scoringLock = new();
    private GwtPrecision? _scoringPrecision;
    private (TextClassificationModel Model, PrecisionPolicy Policy)? _lowPrecision;
    private readonly HashSet<string> _warned = new();

    /// <summary>
    /// The precision <c>Transform</c>, <c>PredictionEngine</c> and <see cref="TextClassifierTransformerBase.Predict"/>
    /// compute in: the one the training run asked for (<see cref="GwtTextClassificationTrainer.Options.Precision"/>), saved
    /// with the model, unless set here.
    /// It is resolved on the machine that scores, by the rule training uses: <see cref="GwtPrecision.Auto"/> scores in
    /// bfloat16 only where the hardware computes it fast; an explicit <see cref="GwtPrecision.BFloat16"/> on hardware
    /// without it scores in bfloat16 and warns once; <see cref="GwtPrecision.Float16"/> scores in float32 off CUDA and
    /// warns once. <see cref="Model"/> always holds the float32 weights; bfloat16 or float16 scoring uses a copy of them
    /// cast by <see cref="PrecisionPolicy"/> (float32 LayerNorm statistics, softmax and logits), built on first use. Do not
    /// set it while rows are being scored on another thread.
    /// </summary>
    public GwtPrecision ScoringPrecision
    {
        get => _scoringPrecision ?? Options.Precision;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException(nameof(ScoringPrecision), value, $"{nameof(ScoringPrecision)} must be Auto, Float32, BFloat16 or Float16.");
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

    /// <summary>The compute type scoring uses on this machine and device now (<see cref="ScoringPrecision"/> resolved).</summary>
    internal ScalarType ScoringComputeType => ResolveScoring();

    /// <summary><see cref="ScoringPrecision"/> on the current device, by <see cref="PrecisionHardware.Resolve"/>; its
    /// warning, if any, is given once per model and warning.</summary>
    private ScalarType ResolveScoring()
    {
        var choice = PrecisionHardware.Resolve(ScoringPrecision, _device);
        if (choice.Warning is { } warning)
        {
            lock (_warned)
            {
                if (_warned.Add(warning))
                {
                    using var ch = Host.Start("Scoring");
                    ch.Warning(MessageSensitivity.None, warning);
                }
            }
        }
        return choice.ComputeType;
    }

    /// <summary>The module scoring runs: the float32 model, or its low-precision copy. Call under the move lock.</summary>
    private TextClassificationModel ScoringModel()
    {
        var dtype = ResolveScoring();
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
        // The copy's random initialization is overwritten at once; a training run's and the caller's generator state are kept.
        TextClassificationModel copy;
        using (RunRandom.Borrow())
        {
            copy = new TextClassificationModel(Config, NumClasses);
        }
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
