using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// What the two text classifiers share: <c>GwtTextClassificationTransformer</c> (TorchSharp) and
/// <c>GwtOnnxTextClassificationTransformer</c> (ONNX Runtime) add the same <c>Score</c> and <c>PredictedLabel</c>
/// columns, lazily and <c>ScoringBatchSize</c> rows per forward pass in <see cref="Transform"/>, row by row in a
/// <c>PredictionEngine</c>, and save the same way in <c>mlContext.Model.Save</c> (settings, then each part with a SHA-256,
/// read back under one error policy). Only Microsoft.ML.Gwt's own classifiers derive from it.
/// </summary>
public abstract class TextClassifierTransformerBase : ITransformer, IDisposable, ITextClassifierScorer
{
    /// <summary>The name of the tokenizer's part in model files.</summary>
    protected const string TokenizerPart = "Tokenizer";

    /// <summary>The name of the label values' part in model files.</summary>
    protected const string LabelsPart = "Labels";

    private long _scoredRows;

    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps what scoring needs.</summary>
    /// <param name="env">The ML.NET environment (a <see cref="MLContext"/>).</param>
    /// <param name="name">The host's name in ML.NET's messages.</param>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    /// <param name="settings">Text columns, output columns, truncation, batch size, classes and label values.</param>
    protected TextClassifierTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer, TextClassifierSettings settings)
    {
        Host = env.Register(name);
        Tokenizer = tokenizer;
        Scoring = settings;
    }

    /// <summary>The number of classes.</summary>
    public int NumClasses => Scoring.Classes;

    /// <summary>The label values in key order, as text, when the training label had key values.</summary>
    public IReadOnlyList<string>? LabelNames => Scoring.Labels?.ToText();

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>Rows scored so far (by <see cref="Transform"/>'s output, <c>PredictionEngine</c> and <see cref="Predict"/>).</summary>
    public long ScoredRows => Interlocked.Read(ref _scoredRows);

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <summary>The transformer's ML.NET host (for <c>IChannel</c> messages and checks).</summary>
    protected IHost Host { get; }

    /// <summary>Text columns, output columns, truncation, batch size, classes and label values.</summary>
    protected internal TextClassifierSettings Scoring { get; }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema); // same indices as the input; our columns hide any of the same name
        OutputColumns().AddTo(b);
        return b.ToSchema();
    }

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return new ScoredDataView(this, input);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return new RowMapper(this, inputSchema);
    }

    /// <summary>Class probabilities (in key order) for texts and, for a sentence-pair model, their second sentences,
    /// scored <c>ScoringBatchSize</c> rows per forward pass. A null text scores as an empty one.</summary>
    /// <exception cref="ArgumentException"><paramref name="second"/> has another count than <paramref name="texts"/>.</exception>
    public float[][] Predict(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second = null) =>
        TextClassifierScoring.Predict(this, texts, second);

    /// <summary>Releases the model's native resources.</summary>
    public abstract void Dispose();

    /// <summary>The columns this model adds (the same description the trainer's <c>GetOutputSchema</c> uses).</summary>
    internal ScoreColumns OutputColumns() => ScoreColumns.ForModel(Scoring.ScoreColumn, Scoring.PredictedLabelColumn, NumClasses, Scoring.Labels);

    /// <summary>Class probabilities of each row (one forward pass).</summary>
    internal float[][] ScoreBatch(IReadOnlyList<(string? First, string? Second)> rows) => ScoreEncoded(Encode(rows));

    /// <summary>The class probabilities of one batch of encoded rows (at least one), row after row: one forward pass.
    /// Thread-safe.</summary>
    protected abstract float[] Probabilities(IReadOnlyList<EncodedText> encoded);

    /// <summary>The token ids of each row (a null text as an empty one).</summary>
    private EncodedText[] Encode(IReadOnlyList<(string? First, string? Second)> rows) =>
        rows.Select(r => Tokenizer.Encode(r.First, Scoring.Sentence2 is null ? null : r.Second ?? string.Empty, Scoring.MaxSequenceLength)).ToArray();

    /// <summary>Class probabilities of each encoded row (one forward pass).</summary>
    private float[][] ScoreEncoded(IReadOnlyList<EncodedText> encoded)
    {
        if (encoded.Count == 0)
        {
            return Array.Empty<float[]>();
        }
        var flat = Probabilities(encoded);
        Interlocked.Add(ref _scoredRows, encoded.Count);
        int k = NumClasses;
        return Enumerable.Range(0, encoded.Count).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    private void CheckInput(DataViewSchema schema)
    {
        TextColumns.CheckText(schema, Scoring.Sentence1, "text");
        if (Scoring.Sentence2 is not null)
        {
            TextColumns.CheckText(schema, Scoring.Sentence2, "text");
        }
    }

    int ITextClassifierScorer.ScoringBatchSize => Scoring.ScoringBatchSize;

    EncodedText[] ITextClassifierScorer.Encode(IReadOnlyList<(string? First, string? Second)> rows) => Encode(rows);

    float[][] ITextClassifierScorer.ScoreEncoded(IReadOnlyList<EncodedText> rows) => ScoreEncoded(rows);

    (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) ITextClassifierScorer.TextGetters(DataViewRow row) =>
        (row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Scoring.Sentence1]),
         Scoring.Sentence2 is null ? null : row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Scoring.Sentence2]));

    IEnumerable<DataViewSchema.Column> ITextClassifierScorer.TextColumnsOf(DataViewSchema schema) =>
        new[] { Scoring.Sentence1, Scoring.Sentence2 }.OfType<string>().Select(n => schema[n]);

    /// <summary>This classifier's entry in model files.</summary>
    protected abstract ModelEntry Entry { get; }

    /// <summary>The entry's settings: <see cref="Scoring"/> (without the label values), then what the model adds.</summary>
    protected virtual void WriteSettings(BinaryWriter w) => Scoring.Write(w);

    /// <summary>Writes the model's parts, <see cref="WriteTokenizerAndLabels"/> among them.</summary>
    protected abstract void WriteParts(ModelPartWriter parts);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var parts = ModelPartWriter.Begin(ctx, Entry);
        parts.WriteSettings(WriteSettings);
        WriteParts(parts);
        parts.End();
    }

    /// <summary>Writes the parts both classifiers have: the tokenizer and the label values.</summary>
    protected void WriteTokenizerAndLabels(ModelPartWriter parts)
    {
        parts.Write(TokenizerPart, Tokenizer.Save);
        parts.Write(LabelsPart, bw =>
        {
            bw.Write(Scoring.Labels is not null);
            Scoring.Labels?.Save(bw);
        });
    }

    /// <summary>Reads what <see cref="WriteTokenizerAndLabels"/> wrote.</summary>
    protected static (TextTokenizer Tokenizer, LabelKeys? Labels) ReadTokenizerAndLabels(ModelPartReader parts, int classes) =>
        (parts.Read(TokenizerPart, "tokenizer", TextTokenizer.Load),
         parts.Read(LabelsPart, "label values", br => br.ReadBoolean() ? LabelKeys.Load(br, classes) : null));
}
