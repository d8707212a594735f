using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Interop;
using System.Diagnostics;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// The task-agnostic training loop: micro-batches from an <see cref="IBatchStream{TBatch}"/>, the linear warm-up
/// schedule, gradient accumulation, clipping, the non-finite-step policy, checkpoints and resume, early stopping on the
/// objective's evaluation score, and progress. The task (its loss and evaluation) is an
/// <see cref="ITrainingObjective{TBatch}"/>. One optimizer step is <see cref="TrainStep"/>: forward and backward of each
/// micro-batch in <see cref="MicroBatch"/>, then <see cref="ApplyStep"/> (clip, then step or skip).
/// </summary>
/// <typeparam name="TBatch">One micro-batch.</typeparam>
internal sealed class TrainingEngine<TBatch>
{
    private readonly IHost _host;
    private readonly IChannel _ch;
    private readonly TrainingEngineOptions _o;
    private readonly ITrainingObjective<TBatch> _objective;
    private readonly IBatchStream<TBatch> _data;
    private readonly GwtAdam _optimizer;
    private readonly RunRandom _random;
    private readonly TrainingCheckpoint? _checkpoints;
    private readonly Device _device;
    private readonly nn.Module _model;
    private readonly List<Parameter> _parameters;
    private readonly int _batchesPerEpoch;
    private readonly PrecisionTraining _precision;

    private readonly GwtTrainingResult _result = new();
    private TrainingPosition _position = new();
    private Dictionary<string, Tensor>? _best;
    private double _trainSeconds;
    private long _trainExamples;

    /// <summary>A run of <paramref name="objective"/> on <paramref name="data"/>. <paramref name="optimizer"/> holds the
    /// model's trainable parameters; <paramref name="checkpoints"/> (or null) is where the run saves and resumes.
    /// <paramref name="precision"/> (null: float32) must have been applied to the model before the optimizer was created.</summary>
    public TrainingEngine(IHost host, IChannel ch, TrainingEngineOptions options, ITrainingObjective<TBatch> objective,
        IBatchStream<TBatch> data, GwtAdam optimizer, RunRandom random, TrainingCheckpoint? checkpoints, Device device,
        PrecisionTraining? precision = null)
    {
        _host = host;
        _ch = ch;
        _o = options;
        _objective = objective;
        _data = data;
        _optimizer = optimizer;
        _random = random;
        _checkpoints = checkpoints;
        _device = device;
        _model = objective.Model;
        _precision = precision ?? new PrecisionTraining(_model, ScalarType.Float32);
        _parameters = _model.parameters().Where(p => p.requires_grad).ToList();
        _batchesPerEpoch = data.BatchesPerEpoch;
        Schedule = ScheduleFor(options, _batchesPerEpoch);
    }

    /// <summary>The learning-rate schedule of the run.</summary>
    public LinearWarmupSchedule Schedule { get; }

    /// <summary>The schedule of a run of <paramref name="batchesPerEpoch"/> micro-batches per epoch.</summary>
    public static LinearWarmupSchedule ScheduleFor(TrainingEngineOptions o, int batchesPerEpoch)
    {
        int stepsPerEpoch = (batchesPerEpoch + o.GradientAccumulationSteps - 1) / o.GradientAccumulationSteps;
        return new LinearWarmupSchedule(o.PeakLearningRate, (long)stepsPerEpoch * o.MaxEpochs, o.WarmupFraction);
    }

    /// <summary>Trains (resuming from the checkpoint folder when it holds this run) and returns the result; with early
    /// stopping the model ends with the best epoch's weights.</summary>
    public GwtTrainingResult Run()
    {
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
            _precision.RestoreFloat32(_model, _optimizer);
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
        if (_precision.Scaler is not null && _position.LossScale > 0)
        {
            _precision.Scaler.Restore(_position.LossScale, _position.LossScaleGoodSteps, _position.LossScaleSkippedSteps);
        }
        if (restored.BestWeights is not null)
        {
            _best = restored.BestWeights.ToDictionary(kv => kv.Key, kv => DeviceTensors.MoveTo(kv.Value, _device));
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
            bool stop = EvaluateEpoch(epoch);
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
        var epochClock = Stopwatch.StartNew();
        long epochExamples = 0;
        int batch = epoch == _position.Epoch ? _position.Batch : 0;
        _model.train();
        using var stream = _data.Epoch(epoch, batch).GetEnumerator();
        while (batch < _batchesPerEpoch)
        {
            // One optimizer step: GradientAccumulationSteps batches (fewer at the end of the epoch).
            int micro = Math.Min(_o.GradientAccumulationSteps, _batchesPerEpoch - batch);
            var clock = Stopwatch.StartNew();
            var batches = NextBatches(stream, micro, epoch, batch);
            var (meanLoss, rows, lr) = TrainStep(epoch, batches);
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

    private List<TBatch> NextBatches(IEnumerator<TBatch> stream, int count, int epoch, int batch)
    {
        var batches = new List<TBatch>(count);
        for (int m = 0; m < count; m++)
        {
            MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken);
            if (!stream.MoveNext())
            {
                throw new InvalidOperationException(
                    $"The training data ended after {batch + m} of {_batchesPerEpoch} batches in epoch {epoch + 1}: it has fewer rows than when training started (the input IDataView must give the same rows on every pass).");
            }
            batches.Add(stream.Current);
        }
        return batches;
    }

    /// <summary>Accumulates the micro-batches' gradients, clips, and applies one optimizer step at the scheduled learning
    /// rate. Each micro-batch's mean loss is weighted by its share of the step's rows, so the accumulated gradient is the
    /// gradient of the mean loss over all the step's rows.</summary>
    private (double MeanLoss, int Rows, double LearningRate) TrainStep(int epoch, List<TBatch> batches)
    {
        long step = _position.Step; // 0-based index of this step
        double lr = Schedule.At(step);
        foreach (var g in _optimizer.ParamGroups)
        {
            // A group created with its own peak rate (the pre-trainer's untargeted parameters) follows the same schedule,
            // scaled by its peak over the run's; every other group gets the scheduled rate itself.
            g.LearningRate = g.InitialLearningRate == Schedule.PeakLearningRate || Schedule.PeakLearningRate == 0
                ? lr : lr * (g.InitialLearningRate / Schedule.PeakLearningRate);
        }
        int stepRows = batches.Sum(_objective.Rows);
        double lossSum = 0;
        bool finite = true;
        using (torch.NewDisposeScope())
        {
            _optimizer.zero_grad();
            for (int m = 0; m < batches.Count; m++)
            {
                MlNetInterop.ThrowIfCancelled(_host, _o.CancellationToken);
                int rows = _objective.Rows(batches[m]);
                double loss = MicroBatch(batches[m], m, (double)rows / stepRows, step);
                finite &= double.IsFinite(loss);
                lossSum += loss * rows;
            }
            finite = ApplyStep(step, lr, stepRows, finite, epoch);
        }
        _o.Hooks.AfterStep?.Invoke(step + 1, _optimizer);
        double meanLoss = lossSum / Math.Max(1, stepRows);
        _result.TrainingLoss.Add(meanLoss);
        return (meanLoss, stepRows, lr);
    }

    /// <summary>Forward and backward of micro-batch <paramref name="micro"/> of step <paramref name="step"/> (0-based);
    /// the mean loss is scaled by <paramref name="weight"/> (the micro-batch's share of the step's rows) before backward.
    /// The forward pass (its dropout draws) holds TorchSharp's generator, seeded for this micro-batch; backward draws
    /// nothing. Returns the unscaled mean loss.</summary>
    private double MicroBatch(TBatch batch, int micro, double weight, long step)
    {
        Tensor loss;
        using (_random.MicroBatch(step, micro))
        {
            loss = _objective.Loss(batch);
        }
        if (_o.Hooks.PoisonStep?.Invoke(step + 1) == true)
        {
            using var nan = double.NaN.ToScalar();
            loss = loss.mul(nan);
        }
        double value = loss.item<float>();
        double factor = weight * _precision.LossScale; // float16: the loss scale keeps small gradients from flushing to zero
        if (factor == 1.0)
        {
            loss.backward();
        }
        else
        {
            using var scale = factor.ToScalar(); // held for the call (HeldScalars says why)
            loss.mul(scale).backward();
        }
        return value;
    }

    /// <summary>Clips the accumulated gradients and applies the optimizer step, or skips it (optimizer state untouched)
    /// when the loss or the gradient norm is not finite (in float16, a finite loss with overflowing gradients lowers the
    /// loss scale instead). Clipping and stepping go through <see cref="PrecisionTraining"/>. Returns whether the step was applied.</summary>
    private bool ApplyStep(long step, double lr, int stepRows, bool finiteLoss, int epoch)
    {
        double norm = _precision.ClipGradients(_parameters, _o.GradientClipNorm);
        bool finite = finiteLoss && double.IsFinite(norm);
        _o.Hooks.BeforeOptimizerStep?.Invoke(new OptimizerStepInfo(step, lr, stepRows, norm, _model));
        if (finite)
        {
            _precision.Step(_optimizer);
        }
        else if (finiteLoss && _precision.HandlesOverflow)
        {
            Overflowed(step + 1, epoch);
        }
        else
        {
            SkipStep(step + 1, epoch);
        }
        _optimizer.zero_grad();
        return finite;
    }

    /// <summary>A float16 step whose gradients overflowed at the current loss scale: skipped (weights and optimizer state
    /// untouched) and the scale halved, as <c>torch.amp.GradScaler</c> does; not a non-finite step.</summary>
    private void Overflowed(long stepNumber, int epoch)
    {
        _result.SkippedSteps++;
        double scale = _precision.Overflowed(_optimizer);
        _ch.Info(MessageSensitivity.None, $"Step {stepNumber} (epoch {epoch + 1}) skipped: float16 gradients overflowed; loss scale lowered to {scale:G}.");
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
            _ch.Info(MessageSensitivity.None, $"epoch {epoch + 1}/{_o.MaxEpochs} step {step}/{Schedule.TotalSteps} loss {meanLoss:F4} lr {lr:G3} {examplesPerSecond:F1} examples/s optimizer state {_optimizer.StateBytes / 1048576.0:F2} MB");
        }
        _o.Progress?.Invoke(new GwtTrainingProgress(epoch + 1, step, Schedule.TotalSteps, meanLoss, lr, examplesPerSecond));
    }

    /// <summary>Evaluates after an epoch, keeps the best epoch's weights when early stopping is on, and returns whether
    /// early stopping ends the run.</summary>
    private bool EvaluateEpoch(int epoch)
    {
        var evaluation = _objective.Evaluate(epoch);
        _model.train();
        if (evaluation is null)
        {
            return false;
        }
        var (loss, score, summary) = evaluation;
        _result.ValidationLoss.Add(loss);
        _result.ValidationAccuracy.Add(score);
        _ch.Info(MessageSensitivity.None, $"epoch {epoch + 1}: {summary}");
        _o.Progress?.Invoke(new GwtTrainingProgress(epoch + 1, _position.Step, Schedule.TotalSteps, _result.TrainingLoss.LastOrDefault(), 0, 0, loss, score));
        _o.Hooks.AfterValidation?.Invoke(new ValidationInfo(epoch, loss, score, _model));
        bool stop = false;
        if (score > _position.BestAccuracy)
        {
            _position = _position with { BestAccuracy = score, BestEpoch = epoch };
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
        _result.BestValidationAccuracy = _position.BestAccuracy >= 0 ? _position.BestAccuracy : null;
        _result.OptimizerStateBytes = _optimizer.StateBytes;
        _result.TrainingTime = elapsed;
        _result.ExamplesPerSecond = _trainExamples / Math.Max(1e-9, _trainSeconds);
    }

    private TrainingPosition Snapshot() => _position with
    {
        TrainingLoss = _result.TrainingLoss.ToArray(),
        ValidationLoss = _result.ValidationLoss.ToArray(),
        ValidationAccuracy = _result.ValidationAccuracy.ToArray(),
        SkippedSteps = _result.SkippedSteps,
        LossScale = _precision.Scaler?.Scale ?? 0,
        LossScaleGoodSteps = _precision.Scaler?.GoodSteps ?? 0,
        LossScaleSkippedSteps = _precision.Scaler?.SkippedSteps ?? 0,
    };

    /// <summary>A float32 copy of every weight of the model (the best epoch's, with early stopping; master weights in low
    /// precision), with no handle left to the finalizer.</summary>
    private Dictionary<string, Tensor> SnapshotWeights() => _precision.SnapshotWeights(_model, _optimizer);

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        foreach (var t in tensors?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}
