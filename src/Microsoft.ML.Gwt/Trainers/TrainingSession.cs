using System.Diagnostics;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Test hook argument: an optimizer step about to be applied (gradients accumulated and clipped).</summary>
/// <param name="Step">The step's index (0-based).</param>
/// <param name="LearningRate">The learning rate the step uses.</param>
/// <param name="Rows">Training rows in the step (over all its micro-batches).</param>
/// <param name="GradientNorm">The global gradient norm before clipping.</param>
/// <param name="Model">The model, with its gradients.</param>
internal sealed record OptimizerStepInfo(long Step, double LearningRate, int Rows, double GradientNorm, TextClassificationModel Model);

/// <summary>Test hook argument: an epoch's validation.</summary>
internal sealed record ValidationInfo(int Epoch, double Loss, double Accuracy, TextClassificationModel Model);

/// <summary>One training run: the loop behind <see cref="GwtTextClassificationTrainer.Fit"/>.</summary>
internal sealed class TrainingSession
{
    private readonly IHost _host;
    private readonly IChannel _ch;
    private readonly GwtTextClassificationTrainer.Options _o;
    private readonly TextClassificationModel _model;
    private readonly Device _device;
    private readonly RunRandom _random;
    private readonly List<(EncodedText Text, int Label)> _train;
    private readonly List<(EncodedText Text, int Label)>? _validation;
    private readonly int _padId;
    private readonly int _batchesPerEpoch;
    private readonly LinearWarmupSchedule _schedule;

    private GwtAdam _optimizer = null!;
    private List<Parameter> _parameters = new();
    private TrainingCheckpoint? _checkpoints;
    private GwtTrainingResult _result = new();
    private TrainingPosition _position = new();
    private Dictionary<string, Tensor>? _best;
    private double _trainSeconds;
    private long _trainExamples;

    /// <summary>Test hook: a step number (1-based) for which the loss is made NaN.</summary>
    internal static Func<long, bool>? PoisonStep { get; set; }

    /// <summary>Test hook: called after every optimizer step (taken or skipped) with its number (1-based) and the optimizer.</summary>
    internal static Action<long, GwtAdam>? AfterStep { get; set; }

    /// <summary>Test hook: called before each optimizer step is applied.</summary>
    internal static Action<OptimizerStepInfo>? BeforeOptimizerStep { get; set; }

    /// <summary>Test hook: called after each epoch's validation.</summary>
    internal static Action<ValidationInfo>? AfterValidation { get; set; }

    public TrainingSession(IHost host, IChannel ch, GwtTextClassificationTrainer.Options options, TextClassificationModel model,
        TextTokenizer tokenizer, Device device, RunRandom random, List<TextExample> train, List<TextExample>? validation)
    {
        _host = host;
        _ch = ch;
        _o = options;
        _model = model;
        _device = device;
        _random = random;
        _padId = tokenizer.PadId;
        _train = train.Select(r => (tokenizer.Encode(r.First, r.Second, options.MaxSequenceLength), r.Label)).ToList();
        _validation = validation?.Select(r => (tokenizer.Encode(r.First, r.Second, options.MaxSequenceLength), r.Label)).ToList();
        _batchesPerEpoch = (_train.Count + options.BatchSize - 1) / options.BatchSize;
        int stepsPerEpoch = (_batchesPerEpoch + options.GradientAccumulationSteps - 1) / options.GradientAccumulationSteps;
        double peak = options.LearningRate ?? (options.PretrainedModelPath is null ? 5e-4 : 5e-5);
        _schedule = new LinearWarmupSchedule(peak, (long)stepsPerEpoch * options.MaxEpochs, options.WarmupFraction);
    }

    public GwtTrainingResult Run()
    {
        using var optimizer = CreateOptimizer(_schedule.PeakLearningRate, out var targets);
        _optimizer = optimizer;
        _parameters = _model.parameters().Where(p => p.requires_grad).ToList();
        _checkpoints = _o.CheckpointFolder is null ? null : new TrainingCheckpoint(_o.CheckpointFolder,
            TrainingFingerprint.Of(_o, _random.Seed, _model.NumClasses, _schedule.PeakLearningRate, targets, _train, _validation));
        try
        {
            ResumeFromCheckpoint();
            var total = Stopwatch.StartNew();
            if (!_position.Finished)
            {
                TrainEpochs();
            }
            else
            {
                _ch.Info(MessageSensitivity.None, $"The checkpoint holds a finished run ({_position.Step} steps); returning its result without training.");
            }
            RestoreBestWeights();
            Summarize(total.Elapsed);
            return _result;
        }
        finally
        {
            DisposeAll(_best);
            _best = null;
        }
    }

    private void ResumeFromCheckpoint()
    {
        var restored = _checkpoints?.TryLoad(_model, _optimizer);
        if (restored is null)
        {
            return;
        }
        _position = restored.Position;
        if (restored.BestWeights is not null)
        {
            _best = restored.BestWeights.ToDictionary(kv => kv.Key, kv => MoveTo(kv.Value, _device));
        }
        _result.Resumed = true;
        _result.TrainingLoss.AddRange(_position.TrainingLoss);
        _result.ValidationLoss.AddRange(_position.ValidationLoss);
        _result.ValidationAccuracy.AddRange(_position.ValidationAccuracy);
        _result.SkippedSteps = _position.SkippedSteps;
        _result.StoppedEarly = _position.StoppedEarly;
        _ch.Info(MessageSensitivity.None, $"Resumed from checkpoint at epoch {_position.Epoch + 1}, batch {_position.Batch}, step {_position.Step}.");
    }

    private void TrainEpochs()
    {
        for (int epoch = _position.Epoch; epoch < _o.MaxEpochs; epoch++)
        {
            TrainEpoch(epoch);
            bool stop = ValidateEpoch(epoch);
            _position = _position with
            {
                Epoch = epoch + 1, Batch = 0, Finished = stop || epoch + 1 == _o.MaxEpochs, StoppedEarly = stop,
            };
            _result.StoppedEarly = stop;
            _checkpoints?.Save(_model, _optimizer, Snapshot(), _best);
            if (stop)
            {
                break;
            }
        }
    }

    private void TrainEpoch(int epoch)
    {
        var order = _random.EpochOrder(epoch, _train.Count);
        var epochClock = Stopwatch.StartNew();
        long epochExamples = 0;
        int batch = epoch == _position.Epoch ? _position.Batch : 0;
        _model.train();
        while (batch < _batchesPerEpoch)
        {
            // One optimizer step: GradientAccumulationSteps batches (fewer at the end of the epoch).
            int micro = Math.Min(_o.GradientAccumulationSteps, _batchesPerEpoch - batch);
            var clock = Stopwatch.StartNew();
            var (meanLoss, rows, lr) = TrainStep(epoch, order, batch, micro);
            _trainSeconds += clock.Elapsed.TotalSeconds;
            epochExamples += rows;
            batch += micro;
            _position = _position with { Epoch = epoch, Batch = batch, Step = _position.Step + 1 };
            Report(epoch, meanLoss, lr, epochExamples / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds), batch == _batchesPerEpoch);
            if (_checkpoints is not null && _o.CheckpointEverySteps > 0 && _position.Step % _o.CheckpointEverySteps == 0 && batch < _batchesPerEpoch)
            {
                _checkpoints.Save(_model, _optimizer, Snapshot(), _best);
            }
        }
        _trainExamples += epochExamples;
    }

    /// <summary>Accumulates <paramref name="micro"/> batches starting at <paramref name="batch"/>, clips, and applies
    /// one optimizer step at the scheduled learning rate. Each micro-batch's mean loss is weighted by its share of the
    /// step's rows, so the accumulated gradient is the gradient of the mean loss over all the step's rows.</summary>
    private (double MeanLoss, int Rows, double LearningRate) TrainStep(int epoch, int[] order, int batch, int micro)
    {
        long step = _position.Step; // 0-based index of this step
        double lr = _schedule.At(step);
        foreach (var g in _optimizer.ParamGroups)
        {
            g.LearningRate = lr;
        }
        int first = batch * _o.BatchSize;
        int stepRows = Math.Min(_train.Count, (batch + micro) * _o.BatchSize) - first;
        double lossSum = 0;
        bool finite = true;
        using (torch.NewDisposeScope())
        {
            _optimizer.zero_grad();
            for (int m = 0; m < micro; m++)
            {
                MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken);
                _random.SeedMicroBatch(step, m);
                var rows = order.Skip(first + m * _o.BatchSize).Take(_o.BatchSize).Select(i => _train[i]).ToList();
                double loss = MicroBatch(rows, (double)rows.Count / stepRows, step + 1);
                finite &= double.IsFinite(loss);
                lossSum += loss * rows.Count;
            }
            double norm = ClipGradients();
            finite &= double.IsFinite(norm);
            BeforeOptimizerStep?.Invoke(new OptimizerStepInfo(step, lr, stepRows, norm, _model));
            if (finite)
            {
                _optimizer.step();
            }
            else
            {
                SkipStep(step + 1, epoch);
            }
            _optimizer.zero_grad();
        }
        AfterStep?.Invoke(step + 1, _optimizer);
        double meanLoss = lossSum / Math.Max(1, stepRows);
        _result.TrainingLoss.Add(meanLoss);
        return (meanLoss, stepRows, lr);
    }

    /// <summary>Forward and backward of one micro-batch; the mean loss is scaled by <paramref name="weight"/> (the
    /// micro-batch's share of the step's rows) before backward. Returns the unscaled mean loss.</summary>
    private double MicroBatch(List<(EncodedText Text, int Label)> rows, double weight, long stepNumber)
    {
        using var tokens = TokenBatch.Create(rows.Select(r => r.Text).ToList(), _padId, _device);
        using var labels = torch.tensor(rows.Select(r => (long)r.Label).ToArray()).to(_device);
        var logits = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
        var loss = nn.functional.cross_entropy(logits, labels);
        if (PoisonStep?.Invoke(stepNumber) == true)
        {
            loss = loss * double.NaN;
        }
        double value = loss.item<float>();
        (weight == 1.0 ? loss : loss * weight).backward();
        return value;
    }

    /// <summary>Clips the global gradient norm to <c>GradientClipNorm</c> (0: no clipping) and returns the norm before clipping.</summary>
    private double ClipGradients()
    {
        if (_o.GradientClipNorm > 0)
        {
            return nn.utils.clip_grad_norm_(_parameters, _o.GradientClipNorm);
        }
        var norms = _parameters.Select(p => p.grad).Where(g => g is not null).Select(g => torch.linalg.vector_norm(g!)).ToArray();
        return norms.Length == 0 ? 0 : torch.linalg.vector_norm(torch.stack(norms)).item<float>();
    }

    private void SkipStep(long stepNumber, int epoch)
    {
        _result.SkippedSteps++;
        if (_o.NonFiniteStep == NonFiniteStepAction.Throw)
        {
            throw new InvalidOperationException($"Step {stepNumber} (epoch {epoch + 1}) has a non-finite loss or gradient; set NonFiniteStep = Skip to skip such steps.");
        }
        _ch.Warning(MessageSensitivity.None, $"Step {stepNumber} (epoch {epoch + 1}) skipped: the loss or a gradient is not finite; the optimizer state is untouched.");
    }

    private void Report(int epoch, double meanLoss, double lr, double examplesPerSecond, bool endOfEpoch)
    {
        long step = _position.Step;
        if (step % _o.LogEverySteps == 0 || endOfEpoch)
        {
            _ch.Info(MessageSensitivity.None, $"epoch {epoch + 1}/{_o.MaxEpochs} step {step}/{_schedule.TotalSteps} loss {meanLoss:F4} lr {lr:G3} {examplesPerSecond:F1} examples/s optimizer state {_optimizer.StateBytes / 1048576.0:F2} MB");
        }
        _o.Progress?.Invoke(new GwtTrainingProgress(epoch + 1, step, _schedule.TotalSteps, meanLoss, lr, examplesPerSecond));
    }

    /// <summary>Validates on the whole validation set after an epoch, keeps the best epoch's weights when early stopping
    /// is on, and returns whether early stopping ends the run.</summary>
    private bool ValidateEpoch(int epoch)
    {
        if (_validation is not { Count: > 0 })
        {
            return false;
        }
        var (vLoss, vAcc) = Evaluate(_validation);
        _result.ValidationLoss.Add(vLoss);
        _result.ValidationAccuracy.Add(vAcc);
        _ch.Info(MessageSensitivity.None, $"epoch {epoch + 1}: validation loss {vLoss:F4}, accuracy {vAcc:P2} over {_validation.Count} rows");
        _o.Progress?.Invoke(new GwtTrainingProgress(epoch + 1, _position.Step, _schedule.TotalSteps, _result.TrainingLoss.LastOrDefault(), 0, 0, vLoss, vAcc));
        AfterValidation?.Invoke(new ValidationInfo(epoch, vLoss, vAcc, _model));
        bool stop = false;
        if (vAcc > _position.BestAccuracy)
        {
            _position = _position with { BestAccuracy = vAcc, BestEpoch = epoch };
            if (_o.EarlyStoppingPatience > 0)
            {
                DisposeAll(_best);
                _best = SnapshotWeights();
            }
        }
        else if (_o.EarlyStoppingPatience > 0 && epoch - _position.BestEpoch >= _o.EarlyStoppingPatience)
        {
            _ch.Info(MessageSensitivity.None, $"Early stopping: no validation improvement for {_o.EarlyStoppingPatience} epoch(s); keeping epoch {_position.BestEpoch + 1}.");
            stop = true;
        }
        _model.train();
        return stop;
    }

    /// <summary>With early stopping, the run's result is the best epoch's weights.</summary>
    private void RestoreBestWeights()
    {
        if (_best is null)
        {
            return;
        }
        using (torch.no_grad())
        {
            foreach (var (name, p) in _model.named_parameters())
            {
                p.copy_(_best[name]);
            }
        }
    }

    private void Summarize(TimeSpan elapsed)
    {
        _result.Steps = _position.Step;
        _result.BestValidationAccuracy = _validation is { Count: > 0 } && _position.BestAccuracy >= 0 ? _position.BestAccuracy : null;
        _result.OptimizerStateBytes = _optimizer.StateBytes;
        _result.TrainingTime = elapsed;
        _result.ExamplesPerSecond = _trainExamples / Math.Max(1e-9, _trainSeconds);
    }

    private GwtAdam CreateOptimizer(double lr, out List<string> targets)
    {
        var o = _o;
        var selector = o.ResolveTargetSelector();
        var named = _model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter, targeted: selector(p.name, p.parameter))).ToList();
        targets = named.Where(p => p.targeted).Select(p => p.name).ToList();
        var targeted = named.Where(p => p.targeted).Select(p => p.parameter).ToList();
        var decayed = named.Where(p => !p.targeted && p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var plain = named.Where(p => !p.targeted && p.parameter.dim() < 2).Select(p => p.parameter).ToList();
        var groups = new List<GwtAdamParamGroup>();
        if (targeted.Count > 0)
        {
            groups.Add(new GwtAdamParamGroup(targeted, new GwtAdamOptions { Gwt = true }));
        }
        if (decayed.Count > 0)
        {
            groups.Add(new GwtAdamParamGroup(decayed, new GwtAdamOptions { Gwt = false }));
        }
        if (plain.Count > 0)
        {
            groups.Add(new GwtAdamParamGroup(plain, new GwtAdamOptions { Gwt = false, WeightDecay = 0 }));
        }
        return new GwtAdam(groups, new GwtAdamOptions
        {
            LearningRate = lr, WeightDecay = o.WeightDecay, Level = o.GwtLevel, Alpha = o.GwtAlpha, NormGrowthLimiter = o.GwtNormGrowthLimiter,
        });
    }

    private (double Loss, double Accuracy) Evaluate(List<(EncodedText Text, int Label)> rows)
    {
        _model.eval();
        double lossSum = 0;
        long correct = 0;
        using var noGrad = torch.no_grad();
        for (int start = 0; start < rows.Count; start += _o.ScoringBatchSize)
        {
            MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken);
            using var scope = torch.NewDisposeScope();
            var chunk = rows.Skip(start).Take(_o.ScoringBatchSize).ToList();
            using var tokens = TokenBatch.Create(chunk.Select(r => r.Text).ToList(), _padId, _device);
            var labels = torch.tensor(chunk.Select(r => (long)r.Label).ToArray()).to(_device);
            var logits = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
            lossSum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            correct += logits.argmax(1).eq(labels).sum().item<long>();
        }
        return (lossSum / rows.Count, (double)correct / rows.Count);
    }

    private TrainingPosition Snapshot() => _position with
    {
        TrainingLoss = _result.TrainingLoss.ToArray(),
        ValidationLoss = _result.ValidationLoss.ToArray(),
        ValidationAccuracy = _result.ValidationAccuracy.ToArray(),
        SkippedSteps = _result.SkippedSteps,
    };

    private static Tensor MoveTo(Tensor t, Device device)
    {
        if (t.device == device)
        {
            return t;
        }
        var moved = t.to(device);
        t.Dispose();
        return moved;
    }

    /// <summary>A copy of every weight of the model (the best epoch's, with early stopping), with no handle left to the finalizer.</summary>
    private Dictionary<string, Tensor> SnapshotWeights()
    {
        using var _ = no_grad();
        return _model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.clone());
    }

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        foreach (var t in tensors?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}
