using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Runtime;

namespace Microsoft.ML;

/// <summary>Adds <c>Gwt(...)</c> to <c>mlContext.MulticlassClassification.Trainers</c> and <c>GwtSentenceSimilarity(...)</c>
/// to <c>mlContext.Regression.Trainers</c>.</summary>
public static class GwtCatalog
{
    /// <summary>
    /// Trains a transformer text classifier with GWT-compressed Adam. The first eight parameters have the names, order and
    /// defaults of ML.NET's <c>TextClassification</c> trainer (without <c>architecture</c>). Unlike that trainer, which
    /// fine-tunes a pretrained RoBERTa, this one trains a tiny encoder from scratch unless
    /// <paramref name="pretrainedModelPath"/> names a local Hugging Face checkpoint to fine-tune.
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">The label column (a key type). Default "Label".</param>
    /// <param name="scoreColumnName">The output score column. Default "Score".</param>
    /// <param name="outputColumnName">The output predicted-label column. Default "PredictedLabel".</param>
    /// <param name="sentence1ColumnName">The first text column. Default "Sentence1".</param>
    /// <param name="sentence2ColumnName">The optional second text column. Default null.</param>
    /// <param name="batchSize">Examples per batch. Default 32.</param>
    /// <param name="maxEpochs">Passes over the data. Default 10.</param>
    /// <param name="validationSet">Data to validate on after each epoch. Default null.</param>
    /// <param name="pretrainedModelPath">A local Hugging Face checkpoint folder (<c>config.json</c>, <c>model.safetensors</c>
    /// or <c>pytorch_model.bin</c>, tokenizer files) to fine-tune; see <see cref="GwtTextTrainerOptions.PretrainedModelPath"/>. Default null:
    /// a <see cref="GwtModelSize.Tiny"/> encoder trained from scratch.</param>
    /// <param name="maxSequenceLength">Tokens per example (longer text is truncated). Default null: 128, or the
    /// checkpoint's position table when it is shorter; a value beyond the checkpoint's table is an error.</param>
    public static GwtTextClassificationTrainer Gwt(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string scoreColumnName = "Score", string outputColumnName = "PredictedLabel",
        string sentence1ColumnName = "Sentence1", string? sentence2ColumnName = null, int batchSize = 32, int maxEpochs = 10,
        IDataView? validationSet = null, string? pretrainedModelPath = null, int? maxSequenceLength = null)
    {
        var options = new GwtTextClassificationTrainer.Options
        {
            LabelColumnName = labelColumnName,
            ScoreColumnName = scoreColumnName,
            PredictedLabelColumnName = outputColumnName,
            Sentence1ColumnName = sentence1ColumnName,
            Sentence2ColumnName = sentence2ColumnName,
            BatchSize = batchSize,
            MaxEpochs = maxEpochs,
            ValidationSet = validationSet,
            PretrainedModelPath = pretrainedModelPath,
        };
        if (maxSequenceLength is int tokens)
        {
            options.MaxSequenceLength = tokens; // only an explicit value counts as set (see MaxSequenceLength)
        }
        return catalog.Gwt(options);
    }

    /// <summary>Fine-tunes a transformer text classifier with GWT-compressed Adam, with all options.</summary>
    public static GwtTextClassificationTrainer Gwt(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        GwtTextClassificationTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GwtTextClassificationTrainer(GetEnvironment(catalog), options);
    }

    /// <summary>
    /// Trains a sentence-similarity model with GWT-compressed Adam: the two sentences are encoded as one pair and a
    /// one-output regression head (Hugging Face's <c>num_labels = 1</c>) predicts the float label. The first seven
    /// parameters have the names, order and defaults of ML.NET's <c>SentenceSimilarity</c> trainer (without
    /// <c>architecture</c>). Unlike that trainer, which fine-tunes a pretrained RoBERTa, this one trains a tiny encoder
    /// from scratch unless <paramref name="pretrainedModelPath"/> names a local Hugging Face checkpoint to fine-tune (a
    /// checkpoint fine-tuned with <c>num_labels = 1</c> keeps its head).
    /// </summary>
    /// <param name="catalog">The regression trainers catalog.</param>
    /// <param name="labelColumnName">The label column (<c>Single</c>, e.g. a 0-5 similarity). Default "Label".</param>
    /// <param name="scoreColumnName">The output score column (<c>Single</c>). Default "Score".</param>
    /// <param name="sentence1ColumnName">The first sentence column. Default "Sentence1".</param>
    /// <param name="sentence2ColumnName">The second sentence column. Default "Sentence2".</param>
    /// <param name="batchSize">Examples per batch. Default 32.</param>
    /// <param name="maxEpochs">Passes over the data. Default 10.</param>
    /// <param name="validationSet">Data to validate on after each epoch (MSE and Pearson correlation). Default null.</param>
    /// <param name="pretrainedModelPath">A local Hugging Face checkpoint folder to fine-tune; see
    /// <see cref="GwtTextTrainerOptions.PretrainedModelPath"/>. Default null: a <see cref="GwtModelSize.Tiny"/> encoder trained
    /// from scratch.</param>
    /// <param name="maxSequenceLength">Tokens per sentence pair (longer pairs are truncated). Default null: 128, or the
    /// checkpoint's position table when it is shorter; a value beyond the checkpoint's table is an error.</param>
    public static GwtSentenceSimilarityTrainer GwtSentenceSimilarity(this RegressionCatalog.RegressionTrainers catalog,
        string labelColumnName = "Label", string scoreColumnName = "Score", string sentence1ColumnName = "Sentence1",
        string sentence2ColumnName = "Sentence2", int batchSize = 32, int maxEpochs = 10, IDataView? validationSet = null,
        string? pretrainedModelPath = null, int? maxSequenceLength = null)
    {
        var options = new GwtSentenceSimilarityTrainer.Options
        {
            LabelColumnName = labelColumnName,
            ScoreColumnName = scoreColumnName,
            Sentence1ColumnName = sentence1ColumnName,
            Sentence2ColumnName = sentence2ColumnName,
            BatchSize = batchSize,
            MaxEpochs = maxEpochs,
            ValidationSet = validationSet,
            PretrainedModelPath = pretrainedModelPath,
        };
        if (maxSequenceLength is int tokens)
        {
            options.MaxSequenceLength = tokens; // only an explicit value counts as set (see MaxSequenceLength)
        }
        return catalog.GwtSentenceSimilarity(options);
    }

    /// <summary>Trains a sentence-similarity model with GWT-compressed Adam, with all options.</summary>
    public static GwtSentenceSimilarityTrainer GwtSentenceSimilarity(this RegressionCatalog.RegressionTrainers catalog,
        GwtSentenceSimilarityTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GwtSentenceSimilarityTrainer(MlNetInterop.EnvironmentOf(catalog, nameof(catalog)), options);
    }

    /// <summary>
    /// Trains a named-entity-recognition model (a tag per word) with GWT-compressed Adam: the sentence's
    /// whitespace-separated words are encoded as Hugging Face encodes pre-split words, and a token-classification head
    /// (Hugging Face's <c>*ForTokenClassification</c>) tags each word at its first sub-token. The first six parameters
    /// have the names, order and defaults of ML.NET's <c>NamedEntityRecognition</c> trainer (without
    /// <c>architecture</c>). Unlike that trainer, which fine-tunes a pretrained RoBERTa, this one trains a tiny encoder
    /// from scratch unless <paramref name="pretrainedModelPath"/> names a local Hugging Face checkpoint to fine-tune (a
    /// checkpoint fine-tuned for token classification with as many labels keeps its head).
    /// </summary>
    /// <param name="catalog">The multiclass trainers catalog.</param>
    /// <param name="labelColumnName">The label column: a vector of keys, one tag per whitespace-separated word (a string
    /// vector mapped with <c>MapValueToKey</c>). Default "Label".</param>
    /// <param name="outputColumnName">The output column: a vector of keys, one per word, with the label's key values. Default "PredictedLabel".</param>
    /// <param name="sentence1ColumnName">The text column. Default "Sentence".</param>
    /// <param name="batchSize">Examples per batch. Default 32.</param>
    /// <param name="maxEpochs">Passes over the data. Default 10.</param>
    /// <param name="validationSet">Data to validate on after each epoch (loss and entity F1). Default null.</param>
    /// <param name="pretrainedModelPath">A local Hugging Face checkpoint folder to fine-tune; see
    /// <see cref="GwtTextTrainerOptions.PretrainedModelPath"/>. Default null: a <see cref="GwtModelSize.Tiny"/> encoder trained
    /// from scratch.</param>
    /// <param name="maxSequenceLength">Tokens per sentence, special tokens included (words after the cut get the most
    /// frequent tag). Default null: 128, or the checkpoint's position table when it is shorter.</param>
    public static GwtNamedEntityRecognitionTrainer GwtNamedEntityRecognition(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string labelColumnName = "Label", string outputColumnName = "PredictedLabel", string sentence1ColumnName = "Sentence",
        int batchSize = 32, int maxEpochs = 10, IDataView? validationSet = null, string? pretrainedModelPath = null, int? maxSequenceLength = null)
    {
        var options = new GwtNamedEntityRecognitionTrainer.Options
        {
            LabelColumnName = labelColumnName,
            OutputColumnName = outputColumnName,
            Sentence1ColumnName = sentence1ColumnName,
            BatchSize = batchSize,
            MaxEpochs = maxEpochs,
            ValidationSet = validationSet,
            PretrainedModelPath = pretrainedModelPath,
        };
        if (maxSequenceLength is int tokens)
        {
            options.MaxSequenceLength = tokens; // only an explicit value counts as set (see MaxSequenceLength)
        }
        return catalog.GwtNamedEntityRecognition(options);
    }

    /// <summary>Trains a named-entity-recognition model with GWT-compressed Adam, with all options.</summary>
    public static GwtNamedEntityRecognitionTrainer GwtNamedEntityRecognition(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        GwtNamedEntityRecognitionTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        return new GwtNamedEntityRecognitionTrainer(GetEnvironment(catalog), options);
    }

    /// <summary>
    /// Registers the GWT model loader in this context up front. Not needed: loading a GWT model registers it by itself
    /// once <see cref="Gwt.GwtModelLoader.Register"/> has run (see the README); kept for code that wants the registration explicit.
    /// </summary>
    public static MLContext RegisterGwtComponents(this MLContext mlContext)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        MlNetInterop.RegisterLoaders(mlContext, GwtModelLoaderAssembly.Instance);
        MlNetInterop.RegisterLoaders(mlContext, GwtModelLoaderAssembly.SentenceSimilarity);
        MlNetInterop.RegisterLoaders(mlContext, GwtModelLoaderAssembly.NamedEntityRecognition);
        return mlContext;
    }

    private static IHostEnvironment GetEnvironment(MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog) =>
        MlNetInterop.EnvironmentOf(catalog, nameof(catalog));
}
