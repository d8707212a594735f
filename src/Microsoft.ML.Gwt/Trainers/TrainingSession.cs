using Microsoft.ML.Data;
using System.Diagnostics;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Optim;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>What a training run did: per-step losses, per-epoch validation, timing and memory.</summary>
public sealed class GwtTrainingResult
{
    /// <summary>Optimizer steps taken (including skipped non-finite ones).</summary>
    public long Steps { get; internal set; }

    /// <summary>Steps skipped because the loss or a gradient was not finite.</summary>
    public long SkippedSteps { get; internal set; }

    /// <summary>Training loss of every optimizer step, in order.</summary>
    public List<double> TrainingLoss { get; } = new();

    /// <summary>Validation loss after each epoch (empty without a validation set).</summary>
    public List<double> ValidationLoss { get; } = new();

    /// <summary>Validation accuracy (over the whole set) after each epoch.</summary>
    public List<double> ValidationAccuracy { get; } = new();

    /// <summary>Best validation accuracy, or null without a validation set.</summary>
    public double? BestValidationAccuracy { get; internal set; }

    /// <summary>Bytes of optimizer state (Adam moments) at the end.</summary>
    public long OptimizerStateBytes { get; internal set; }

    /// <summary>Wall time spent in the training loop (validation included).</summary>
    public TimeSpan TrainingTime { get; internal set; }

    /// <summary>Training examples processed per second (validation excluded).</summary>
    public double ExamplesPerSecond { get; internal set; }

    /// <summary>Whether early stopping ended the run.</summary>
    public bool StoppedEarly { get; internal set; }

    /// <summary>Whether the run resumed from a checkpoint.</summary>
    public bool Resumed { get; internal set; }
}

/// <summary>One training run: the loop behind <see cref="GwtTextClassificationTrainer.Fit"/>.</summary>
internal sealed class TrainingSession
{
    private readonly IHost _host;
    private readonly IChannel _ch;
    private readonly GwtTextClassificationTrainer.Options _o;
    private readonly TextClassificationModel _model;
    private readonly Device _device;
    private readonly int _seed;
    private readonly List<(EncodedText Text, int Label)> _train;
    private readonly List<(EncodedText Text, int Label)>? _validation;
    private readonly int _padId;

    /// <summary>Test hook: a step number for which the loss is made NaN.</summary>
    internal static Func<long, bool>? PoisonStep { get; set; }

    /// <summary>Test hook: called after every optimizer step (taken or skipped) with the optimizer.</summary>
    internal static Action<long, GwtAdam>? AfterStep { get; set; }

    public TrainingSession(IHost host, IChannel ch, GwtTextClassificationTrainer.Options options, TextClassificationModel model,
        TextTokenizer tokenizer, Device device, int seed, List<TextExample> train, List<TextExample>? validation)
    {
        _host = host;
        _ch = ch;
        _o = options;
        _model = model;
        _device = device;
        _seed = seed;
        _padId = tokenizer.PadId;
        _train = train.Select(r => (tokenizer.Encode(r.First, r.Second, options.MaxSequenceLength), r.Label)).ToList();
        _validation = validation?.Select(r => (tokenizer.Encode(r.First, r.Second, options.MaxSequenceLength), r.Label)).ToList();
    }

    public GwtTrainingResult Run()
    {
        var o = _o;
        var result = new GwtTrainingResult();
        int batchesPerEpoch = (_train.Count + o.BatchSize - 1) / o.BatchSize;
        int stepsPerEpoch = (batchesPerEpoch + o.GradientAccumulationSteps - 1) / o.GradientAccumulationSteps;
        long totalSteps = (long)stepsPerEpoch * o.MaxEpochs;
        double peakLr = o.LearningRate ?? (o.PretrainedModelPath is null ? 5e-4 : 5e-5);
        long warmup = (long)Math.Round(totalSteps * o.WarmupFraction);

        using var optimizer = CreateOptimizer(peakLr);
        var parameters = _model.parameters().Where(p => p.requires_grad).ToList();
        var checkpoints = o.CheckpointFolder is null ? null : new TrainingCheckpoint(o.CheckpointFolder, Fingerprint(totalSteps, peakLr));
        var position = new TrainingPosition();
        Dictionary<string, Tensor>? bestWeights = null;
        if (checkpoints?.TryLoad(_model, optimizer, out var restored) == true)
        {
            position = restored;
            result.Resumed = true;
            result.TrainingLoss.AddRange(position.TrainingLoss);
            result.ValidationLoss.AddRange(position.ValidationLoss);
            result.ValidationAccuracy.AddRange(position.ValidationAccuracy);
            result.SkippedSteps = position.SkippedSteps;
            _ch.Info(MessageSensitivity.None, $"Resumed from checkpoint at epoch {position.Epoch + 1}, batch {position.Batch}, step {position.Step}.");
        }

        var total = Stopwatch.StartNew();
        double trainSeconds = 0;
        long trainExamples = 0;
        for (int epoch = position.Epoch; epoch < o.MaxEpochs; epoch++)
        {
            var order = EpochOrder(epoch);
            var epochClock = Stopwatch.StartNew();
            long epochExamples = 0;
            int batch = epoch == position.Epoch ? position.Batch : 0;
            _model.train();
            while (batch < batchesPerEpoch)
            {
                // One optimizer step: GradientAccumulationSteps batches (fewer at the end of the epoch).
                int micro = Math.Min(o.GradientAccumulationSteps, batchesPerEpoch - batch);
                double stepLoss = 0;
                bool finite = true;
                long step = position.Step + 1;
                double lr = peakLr * (step <= warmup && warmup > 0 ? (double)step / warmup : Math.Max(0.0, (double)(totalSteps - step) / Math.Max(1, totalSteps - warmup)));
                foreach (var g in optimizer.ParamGroups)
                {
                    g.LearningRate = lr;
                }
                var clock = Stopwatch.StartNew();
                using (var scope = torch.NewDisposeScope())
                {
                    optimizer.zero_grad();
                    for (int m = 0; m < micro; m++)
                    {
                        MlNetInterop.ThrowIfCancelled(_host);
                        torch.manual_seed(unchecked(_seed * 1_000_003L + step * 131L + m));
                        var rows = order.Skip((batch + m) * o.BatchSize).Take(o.BatchSize).Select(i => _train[i]).ToList();
                        using var tokens = TokenBatch.Create(rows.Select(r => r.Text).ToList(), _padId, _device);
                        using var labels = torch.tensor(rows.Select(r => (long)r.Label).ToArray()).to(_device);
                        var logits = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds);
                        var loss = nn.functional.cross_entropy(logits, labels);
                        if (PoisonStep?.Invoke(step) == true)
                        {
                            loss = loss * double.NaN;
                        }
                        double value = loss.item<float>();
                        finite &= double.IsFinite(value);
                        stepLoss += value * rows.Count;
                        epochExamples += rows.Count;
                        (loss / micro).backward();
                    }
                    double norm = nn.utils.clip_grad_norm_(parameters, o.GradientClipNorm > 0 ? o.GradientClipNorm : double.MaxValue);
                    finite &= double.IsFinite(norm);
                    if (finite)
                    {
                        optimizer.step();
                    }
                    else
                    {
                        result.SkippedSteps++;
                        if (o.NonFiniteStep == NonFiniteStepAction.Throw)
                        {
                            throw new InvalidOperationException($"Step {step} (epoch {epoch + 1}) has a non-finite loss or gradient; set NonFiniteStep = Skip to skip such steps.");
                        }
                        _ch.Warning(MessageSensitivity.None, $"Step {step} (epoch {epoch + 1}) skipped: the loss or a gradient is not finite; the optimizer state is untouched.");
                    }
                    optimizer.zero_grad();
                }
                AfterStep?.Invoke(step, optimizer);
                trainSeconds += clock.Elapsed.TotalSeconds;
                int batchRows = Math.Min(_train.Count, (batch + micro) * o.BatchSize) - batch * o.BatchSize;
                double meanLoss = stepLoss / Math.Max(1, batchRows);
                result.TrainingLoss.Add(meanLoss);
                batch += micro;
                position = position with { Epoch = epoch, Batch = batch, Step = step };
                double eps = epochExamples / Math.Max(1e-9, epochClock.Elapsed.TotalSeconds);
                if (step % o.LogEverySteps == 0 || batch == batchesPerEpoch)
                {
                    _ch.Info(MessageSensitivity.None, $"epoch {epoch + 1}/{o.MaxEpochs} step {step}/{totalSteps} loss {meanLoss:F4} lr {lr:G3} {eps:F1} examples/s optimizer state {optimizer.StateBytes / 1048576.0:F2} MB");
                }
                o.Progress?.Invoke(new GwtTrainingProgress(epoch + 1, step, totalSteps, meanLoss, lr, eps));
                if (checkpoints is not null && o.CheckpointEverySteps > 0 && step % o.CheckpointEverySteps == 0 && batch < batchesPerEpoch)
                {
                    checkpoints.Save(_model, optimizer, Snapshot(position, result));
                }
            }
            trainExamples += epochExamples;

            // End of epoch: validate on the whole validation set.
            bool stop = false;
            if (_validation is { Count: > 0 })
            {
                var (vLoss, vAcc) = Evaluate(_validation);
                result.ValidationLoss.Add(vLoss);
                result.ValidationAccuracy.Add(vAcc);
                _ch.Info(MessageSensitivity.None, $"epoch {epoch + 1}: validation loss {vLoss:F4}, accuracy {vAcc:P2} over {_validation.Count} rows");
                o.Progress?.Invoke(new GwtTrainingProgress(epoch + 1, position.Step, totalSteps, result.TrainingLoss.LastOrDefault(), 0, 0, vLoss, vAcc));
                if (vAcc > position.BestAccuracy)
                {
                    position = position with { BestAccuracy = vAcc, BestEpoch = epoch };
                    if (o.EarlyStoppingPatience > 0)
                    {
                        DisposeAll(bestWeights);
                        bestWeights = _model.state_dict().ToDictionary(kv => kv.Key, kv => kv.Value.detach().clone());
                    }
                }
                else if (o.EarlyStoppingPatience > 0 && epoch - position.BestEpoch >= o.EarlyStoppingPatience)
                {
                    _ch.Info(MessageSensitivity.None, $"Early stopping: no validation improvement for {o.EarlyStoppingPatience} epoch(s); keeping epoch {position.BestEpoch + 1}.");
                    stop = true;
                }
                _model.train();
            }
            position = position with { Epoch = epoch + 1, Batch = 0 };
            checkpoints?.Save(_model, optimizer, Snapshot(position, result));
            if (stop)
            {
                result.StoppedEarly = true;
                break;
            }
        }
        if (bestWeights is not null)
        {
            using (torch.no_grad())
            {
                foreach (var (name, p) in _model.named_parameters())
                {
                    p.copy_(bestWeights[name]);
                }
            }
            DisposeAll(bestWeights);
        }
        result.Steps = position.Step;
        result.BestValidationAccuracy = _validation is { Count: > 0 } && position.BestAccuracy >= 0 ? position.BestAccuracy : null;
        result.OptimizerStateBytes = optimizer.StateBytes;
        result.TrainingTime = total.Elapsed;
        result.ExamplesPerSecond = trainExamples / Math.Max(1e-9, trainSeconds);
        return result;
    }

    private GwtAdam CreateOptimizer(double lr)
    {
        var o = _o;
        var selector = o.Optimizer == GwtOptimizerKind.Gwt ? o.GwtTargetSelector ?? GwtTargets.EncoderLinearWeights : (_, _) => false;
        var named = _model.named_parameters().Where(p => p.parameter.requires_grad).ToList();
        var targeted = named.Where(p => selector(p.name, p.parameter)).Select(p => p.parameter).ToList();
        var decayed = named.Where(p => !selector(p.name, p.parameter) && p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var plain = named.Where(p => !selector(p.name, p.parameter) && p.parameter.dim() < 2).Select(p => p.parameter).ToList();
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
            MlNetInterop.ThrowIfCancelled(_host);
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

    private int[] EpochOrder(int epoch)
    {
        var rng = new Random(unchecked(_seed * 31 + epoch));
        var order = Enumerable.Range(0, _train.Count).ToArray();
        rng.Shuffle(order);
        return order;
    }

    private string Fingerprint(long totalSteps, double lr) => string.Join("|", _train.Count, _seed, _o.BatchSize, _o.MaxEpochs, totalSteps,
        lr.ToString("R"), _o.Optimizer, _o.GwtLevel, _o.GwtAlpha.ToString("R"), _o.MaxSequenceLength, _o.GradientAccumulationSteps,
        _o.PretrainedModelPath ?? _o.ModelSize.ToString(), _model.NumClasses, _train.Sum(r => (long)r.Text.Ids.Sum() + r.Label));

    private static TrainingPosition Snapshot(TrainingPosition p, GwtTrainingResult r) => p with
    {
        TrainingLoss = r.TrainingLoss.ToArray(),
        ValidationLoss = r.ValidationLoss.ToArray(),
        ValidationAccuracy = r.ValidationAccuracy.ToArray(),
        SkippedSteps = r.SkippedSteps,
    };

    private static void DisposeAll(Dictionary<string, Tensor>? tensors)
    {
        foreach (var t in tensors?.Values ?? Enumerable.Empty<Tensor>())
        {
            t.Dispose();
        }
    }
}
