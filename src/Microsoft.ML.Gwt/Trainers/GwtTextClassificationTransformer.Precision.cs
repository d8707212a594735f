using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>Scoring in the model's precision: a low-precision copy of the float32 model, built on first use
/// (<see cref="TorchScoringModel"/>).</summary>
public sealed partial class GwtTextClassificationTransformer
{
    /// <summary>
    /// The precision <c>Transform</c>, <c>PredictionEngine</c> and <see cref="TextClassifierTransformerBase.Predict"/>
    /// compute in: the one the training run asked for (<see cref="GwtTextTrainerOptions.Precision"/>), saved
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
        get => _scorer.ScoringPrecision;
        set => _scorer.ScoringPrecision = value;
    }

    /// <summary>The compute type scoring uses on this machine and device now (<see cref="ScoringPrecision"/> resolved).</summary>
    internal ScalarType ScoringComputeType => _scorer.ScoringComputeType;
}
