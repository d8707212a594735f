using Microsoft.ML.Gwt.Core.Interop;
using System.Runtime.CompilerServices;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>The loader assemblies of <see cref="GwtTextClassificationTransformer"/> and
/// <see cref="GwtSentenceSimilarityTransformer"/> (see <see cref="ModelLoaderAssembly"/>: one per transformer kind),
/// installed when this assembly is first used and by <see cref="GwtModelLoader.Register"/>, which executables that
/// reference the package call before <c>Main</c>.</summary>
internal static class GwtModelLoaderAssembly
{
    /// <summary>The loader assembly name written into the TorchSharp classifier's model files.</summary>
    public const string Name = "Microsoft.ML.Gwt.ModelLoaders";

    /// <summary>The loader.</summary>
    public static ModelLoaderAssembly Instance { get; } = new(Name, typeof(GwtTextClassificationTransformer),
        nameof(GwtTextClassificationTransformer.CreateFromModelContext), "GWT text classification", GwtTextClassificationTransformer.LoaderSignature);

    /// <summary>The loader assembly name written into the TorchSharp sentence-similarity model files.</summary>
    public const string SentenceSimilarityName = "Microsoft.ML.Gwt.SentenceSimilarity.ModelLoaders";

    /// <summary>The sentence-similarity transformer's loader.</summary>
    public static ModelLoaderAssembly SentenceSimilarity { get; } = new(SentenceSimilarityName, typeof(GwtSentenceSimilarityTransformer),
        nameof(GwtSentenceSimilarityTransformer.CreateFromModelContext), "GWT sentence similarity", GwtSentenceSimilarityTransformer.LoaderSignature);

    /// <summary>The loader assembly name written into the TorchSharp named-entity-recognition model files.</summary>
    public const string NamedEntityRecognitionName = "Microsoft.ML.Gwt.NamedEntityRecognition.ModelLoaders";

    /// <summary>The named-entity-recognition transformer's loader.</summary>
    public static ModelLoaderAssembly NamedEntityRecognition { get; } = new(NamedEntityRecognitionName, typeof(GwtNamedEntityRecognitionTransformer),
        nameof(GwtNamedEntityRecognitionTransformer.CreateFromModelContext), "GWT named entity recognition", GwtNamedEntityRecognitionTransformer.LoaderSignature);

    /// <summary>The loader assembly name written into the TorchSharp question-answering model files.</summary>
    public const string QuestionAnswerName = "Microsoft.ML.Gwt.QuestionAnswer.ModelLoaders";

    /// <summary>The question-answering transformer's loader.</summary>
    public static ModelLoaderAssembly QuestionAnswer { get; } = new(QuestionAnswerName, typeof(GwtQuestionAnswerTransformer),
        nameof(GwtQuestionAnswerTransformer.CreateFromModelContext), "GWT question answering", GwtQuestionAnswerTransformer.LoaderSignature);

#pragma warning disable CA2255 // Installing the resolver before any model load is the point.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        Instance.Install();
        SentenceSimilarity.Install();
        NamedEntityRecognition.Install();
        QuestionAnswer.Install();
    }
}
