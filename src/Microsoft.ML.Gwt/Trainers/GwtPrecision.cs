namespace Microsoft.ML.Gwt.Trainers;

/// <summary>The numeric precision training and scoring compute in (see <see cref="Modeling.PrecisionPolicy"/>).</summary>
public enum GwtPrecision
{
    /// <summary>Bfloat16 where the hardware computes it fast (a CPU with <c>avx512_bf16</c> or <c>amx_bf16</c>, a CUDA
    /// device of compute capability 8.0 or higher), float32 elsewhere; resolved on each machine that trains or scores, so
    /// the same seed can give different models on different machines.</summary>
    Auto,

    /// <summary>Float32 throughout (the default).</summary>
    Float32,

    /// <summary>Bfloat16 matrix products, attention and embeddings; float32 LayerNorm statistics, softmax, logits, loss,
    /// master weights and optimizer state.</summary>
    BFloat16,

    /// <summary>As <see cref="BFloat16"/> with float16, plus dynamic loss scaling (overflowing steps are skipped and the
    /// scale halved). CUDA only: libtorch's CPU float16 kernels are slow and float16 has no speed advantage there.</summary>
    Float16,
}
