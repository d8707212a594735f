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

    /// <summary>
    /// Creates a trainer for extractive question answering (<see cref="GwtQuestionAnswerTrainer"/>), with ML.NET's
    /// <c>QuestionAnswer</c> trainer's parameters, names, order and defaults first, then ours.
    /// </summary>
    /// <param name="catalog">The multiclass classification trainers catalog (where ML.NET puts its question answering).</param>
    /// <param name="contextColumnName">The context column (text).</param>
    /// <param name="questionColumnName">The question column (text).</param>
    /// <param name="trainingAnswerColumnName">The training answer column (text, as written in the context).</param>
    /// <param name="answerIndexColumnName">The answer's character offset in the context (<c>Int32</c>).</param>
    /// <param name="predictedAnswerColumnName">The output column of answers (a vector of text, best first).</param>
    /// <param name="scoreColumnName">The output column of the answers' scores (a vector of float).</param>
    /// <param name="topK">Answers per row, at most.</param>
    /// <param name="batchSize">Windows per optimizer step.</param>
    /// <param name="maxEpochs">Passes over the training windows.</param>
    /// <param name="validationSet">Rows evaluated (exact match, F1) after each epoch; null: none.</param>
    /// <param name="pretrainedModelPath">A Hugging Face checkpoint folder to fine-tune; null: a Tiny encoder from scratch.</param>
    /// <param name="optimizer">GWT (default) or AdamW.</param>
    /// <param name="maxSequenceLength">Tokens per window (question, context window and special tokens); null: 128, or the checkpoint's table when shorter.</param>
    /// <param name="learningRate">The peak learning rate; null: the default for the model.</param>
    /// <param name="seed">The run's seed; null: drawn from the MLContext.</param>
    public static GwtQuestionAnswerTrainer GwtQuestionAnswer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        string contextColumnName = "Context", string questionColumnName = "Question", string trainingAnswerColumnName = "TrainingAnswer",
        string answerIndexColumnName = "AnswerIndex", string predictedAnswerColumnName = "Answer", string scoreColumnName = "Score",
        int topK = 3, int batchSize = 4, int maxEpochs = 10, IDataView? validationSet = null,
        string? pretrainedModelPath = null, GwtOptimizerKind optimizer = GwtOptimizerKind.Gwt, int? maxSequenceLength = null,
        double? learningRate = null, int? seed = null)
    {
        var options = new GwtQuestionAnswerTrainer.Options
        {
            ContextColumnName = contextColumnName,
            QuestionColumnName = questionColumnName,
            TrainingAnswerColumnName = trainingAnswerColumnName,
            AnswerIndexColumnName = answerIndexColumnName,
            PredictedAnswerColumnName = predictedAnswerColumnName,
            ScoreColumnName = scoreColumnName,
            TopKAnswers = topK,
            BatchSize = batchSize,
            MaxEpochs = maxEpochs,
            ValidationSet = validationSet,
            PretrainedModelPath = pretrainedModelPath,
            Optimizer = optimizer,
            LearningRate = learningRate,
            Seed = seed,
        };
        if (maxSequenceLength is int length)
        {
            options.MaxSequenceLength = length;
        }
        return catalog.GwtQuestionAnswer(options);
    }

    /// <summary>Creates a trainer for extractive question answering with all options.</summary>
    public static GwtQuestionAnswerTrainer GwtQuestionAnswer(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog,
        GwtQuestionAnswerTrainer.Options options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new GwtQuestionAnswerTrainer(MlNetInterop.EnvironmentOf(catalog, nameof(catalog)), options);
    }
}
