using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>What a <see cref="GwtModelSize"/> means: the <see cref="TransformerConfig"/> preset of the same name, the
/// one definition of each size (the trainer and the pre-trainer build their new encoders from here).</summary>
internal static class GwtModelSizePresets
{
    /// <summary>The configuration of a new encoder of <paramref name="size"/> over <paramref name="vocabSize"/> tokens
    /// (<see cref="TransformerConfig.Tiny"/>, <see cref="TransformerConfig.Small"/> or <see cref="TransformerConfig.Base"/>;
    /// a value outside the enumeration is <see cref="GwtModelSize.Tiny"/>).</summary>
    public static TransformerConfig Config(this GwtModelSize size, int vocabSize) => size switch
    {
        GwtModelSize.Small => TransformerConfig.Small(vocabSize),
        GwtModelSize.Base => TransformerConfig.Base(vocabSize),
        _ => TransformerConfig.Tiny(vocabSize),
    };
}
