using Microsoft.ML.Gwt.Core.Interop;
using System.Runtime.CompilerServices;

namespace Microsoft.ML.Gwt.Onnx;

/// <summary>
/// Makes <c>mlContext.Model.Load</c> able to load saved <see cref="GwtOnnxTextClassificationTransformer"/>s and
/// <see cref="GwtOnnxSentenceSimilarityTransformer"/>s in every
/// <see cref="MLContext"/> of the process. It runs by itself the first time any type of this assembly is used (for
/// example <see cref="GwtOnnxTextClassificationTransformer.Load"/>); an app whose first call is <c>Model.Load</c> calls
/// <see cref="Register"/> once before it.
/// </summary>
public static class GwtOnnxModelLoader
{
    /// <summary>The loader assembly name written into model files.</summary>
    internal const string Name = "Microsoft.ML.Gwt.Onnx.ModelLoaders";

    internal static ModelLoaderAssembly Loader { get; } = new(Name, typeof(GwtOnnxTextClassificationTransformer),
        nameof(GwtOnnxTextClassificationTransformer.CreateFromModelContext), "GWT text classification (ONNX Runtime)",
        GwtOnnxTextClassificationTransformer.LoaderSignature);

    /// <summary>The sentence-similarity transformer's loader assembly name written into model files.</summary>
    internal const string SentenceSimilarityName = "Microsoft.ML.Gwt.Onnx.SentenceSimilarity.ModelLoaders";

    internal static ModelLoaderAssembly SentenceSimilarity { get; } = new(SentenceSimilarityName, typeof(GwtOnnxSentenceSimilarityTransformer),
        nameof(GwtOnnxSentenceSimilarityTransformer.CreateFromModelContext), "GWT sentence similarity (ONNX Runtime)",
        GwtOnnxSentenceSimilarityTransformer.LoaderSignature);

    /// <summary>The named-entity-recognition transformer's loader assembly name written into model files.</summary>
    internal const string NamedEntityRecognitionName = "Microsoft.ML.Gwt.Onnx.NamedEntityRecognition.ModelLoaders";

    internal static ModelLoaderAssembly NamedEntityRecognition { get; } = new(NamedEntityRecognitionName, typeof(GwtOnnxNamedEntityRecognitionTransformer),
        nameof(GwtOnnxNamedEntityRecognitionTransformer.CreateFromModelContext), "GWT named entity recognition (ONNX Runtime)",
        GwtOnnxNamedEntityRecognitionTransformer.LoaderSignature);

    /// <summary>The question-answering transformer's loader assembly name written into model files.</summary>
    internal const string QuestionAnswerName = "Microsoft.ML.Gwt.Onnx.QuestionAnswer.ModelLoaders";

    internal static ModelLoaderAssembly QuestionAnswer { get; } = new(QuestionAnswerName, typeof(GwtOnnxQuestionAnswerTransformer),
        nameof(GwtOnnxQuestionAnswerTransformer.CreateFromModelContext), "GWT question answering (ONNX Runtime)",
        GwtOnnxQuestionAnswerTransformer.LoaderSignature);

    /// <summary>Installs the resolver that lets ML.NET find the loader. Safe to call many times, from many threads.</summary>
    /// <exception cref="NotSupportedException">The process loaded a Microsoft.ML of another line than the supported 5.0.x and 6.0.x.</exception>
    public static void Register()
    {
        MlNetVersionGuard.EnsureSupported();
        Loader.Install();
        SentenceSimilarity.Install();
        NamedEntityRecognition.Install();
        QuestionAnswer.Install();
    }

    /// <summary>Whether the resolver is installed.</summary>
    public static bool IsRegistered => Loader.IsInstalled && SentenceSimilarity.IsInstalled && NamedEntityRecognition.IsInstalled && QuestionAnswer.IsInstalled;

#pragma warning disable CA2255 // Installing the resolver before any model load is the point.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        Loader.Install();
        SentenceSimilarity.Install();
        NamedEntityRecognition.Install();
        QuestionAnswer.Install();
    }
}
