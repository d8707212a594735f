using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The TorchSharp side of a trained text transformer, shared by the classifier and the sentence-similarity regressor:
/// the float32 model on its device (<see cref="MoveTo"/>), the scoring precision resolved on the machine that scores
/// (a low-precision copy built on first use), and thread-safe forward passes; a write lock keeps moves and precision
/// changes apart from scoring, saving and export.
/// </summary>
internal sealed class TorchScoringModel : IDisposable
{
    private readonly TextClassificationModel _model;
    private readonly GwtPrecision _savedPrecision;
    private readonly IHost _host;
    private readonly ReaderWriterLockSlim _moveLock = new();
    private readonly object _deviceLock = new();
    private readonly object _scoringLock = new();
    private readonly HashSet<string> _warned = new();
    private Device _device;
    private GwtPrecision? _scoringPrecision;
    private (TextClassificationModel Model, PrecisionPolicy Policy)? _lowPrecision;

    public TorchScoringModel(IHost host, TextClassificationModel model, GwtPrecision savedPrecision)
    {
        _host = host;
        _model = model;
        _model.eval();
        _savedPrecision = savedPrecision;
        _device = model.parameters().First().device;
    }

    /// <summary>The float32 model, in evaluation mode.</summary>
    public TextClassificationModel Model => _model;

    /// <summary>The device the model scores on now.</summary>
    public GwtDevice Device => _device.type == DeviceType.CUDA ? GwtDevice.Cuda : GwtDevice.Cpu;

    /// <summary>Moves the model to <paramref name="device"/> for all later scoring.</summary>
    public void MoveTo(GwtDevice device)
    {
        var target = GwtTextClassificationTrainer.ResolveDevice(device);
        _moveLock.EnterWriteLock();
        try
        {
            _model.to(target);
            _device = target;
            DropLowPrecisionCopy();
        }
        finally
        {
            _moveLock.ExitWriteLock();
        }
    }

    /// <summary>The precision scoring computes in: the saved one unless set.</summary>
    public GwtPrecision ScoringPrecision
    {
        get => _scoringPrecision ?? _savedPrecision;
        set
        {
            if (!Enum.IsDefined(value))
            {
                throw new ArgumentOutOfRangeException("ScoringPrecision", value, "ScoringPrecision must be Auto, Float32, BFloat16 or Float16.");
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

    /// <summary>The compute type scoring uses on this machine and device now.</summary>
    public ScalarType ScoringComputeType => ResolveScoring();

    /// <summary>One forward pass over encoded rows: <paramref name="output"/> maps the float32 logits
    /// <c>[rows, labels]</c> to what the transformer gives (softmax, or the logits themselves), copied to managed memory
    /// row after row.</summary>
    public float[] Forward(IReadOnlyList<EncodedText> encoded, int padId, Func<Tensor, Tensor> output)
    {
        _moveLock.EnterReadLock();
        try
        {
            using var scope = torch.NewDisposeScope();
            using var noGrad = torch.no_grad();
            var device = _device;
            using var tokens = TokenBatch.Create(encoded, padId, device);
            float[] Run() => output(ScoringModel().Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds))
                .to(ScalarType.Float32).cpu().data<float>().ToArray();
            if (device.type == DeviceType.CPU)
            {
                return Run();
            }
            lock (_deviceLock)
            {
                return Run();
            }
        }
        finally
        {
            _moveLock.ExitReadLock();
        }
    }

    /// <summary>Runs <paramref name="read"/> on the float32 model while no move or precision change can happen (saving,
    /// export).</summary>
    public T Read<T>(Func<TextClassificationModel, T> read)
    {
        _moveLock.EnterReadLock();
        try
        {
            return read(_model);
        }
        finally
        {
            _moveLock.ExitReadLock();
        }
    }

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
                    using var ch = _host.Start("Scoring");
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
            copy = new TextClassificationModel(_model.Encoder.Config, _model.NumClasses, _model.HeadKind);
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

    /// <summary>Releases the model's native memory (and its low-precision copy).</summary>
    public void Dispose()
    {
        DropLowPrecisionCopy();
        _model.Dispose();
        _moveLock.Dispose();
    }
}
