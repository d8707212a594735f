using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>The text a scoring transformer reads: its text columns, the tokens per example and the rows per forward
/// pass.</summary>
/// <param name="Sentence1">The first text column.</param>
/// <param name="Sentence2">The second text column of a sentence-pair model; null for one text.</param>
/// <param name="MaxSequenceLength">Tokens per example (longer text is truncated).</param>
/// <param name="ScoringBatchSize">Rows per forward pass.</param>
public sealed record TextScoringInput(string Sentence1, string? Sentence2, int MaxSequenceLength, int ScoringBatchSize);

/// <summary>
/// What every Microsoft.ML.Gwt scoring transformer shares, whatever its task: it reads one or two text columns, tokenizes
/// them, runs a network <see cref="TextScoringInput.ScoringBatchSize"/> rows per forward pass and adds the columns its
/// task describes (a classifier's <c>Score</c> vector and <c>PredictedLabel</c>, a regressor's <c>Score</c>), lazily in
/// <see cref="Transform"/>, row by row in a <c>PredictionEngine</c>, and saves itself in <c>mlContext.Model.Save</c>
/// (settings, then each part with a SHA-256). A derived class gives the network's outputs per row
/// (<see cref="Outputs"/>, <see cref="OutputWidth"/> floats a row) and the columns made from them
/// (<see cref="TextClassifierTransformerBase"/>, <see cref="TextRegressorTransformerBase"/>). Only Microsoft.ML.Gwt's own
/// transformers derive from it.
/// </summary>
public abstract class TextScoringTransformerBase : TextModelTransformerBase, ITransformer, IDisposable, ITextClassifierScorer
{
    private long _scoredRows;

    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps what scoring needs.</summary>
    /// <param name="env">The ML.NET environment (a <see cref="MLContext"/>).</param>
    /// <param name="name">The host's name in ML.NET's messages.</param>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    /// <param name="input">Text columns, truncation and batch size.</param>
    private protected TextScoringTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer, TextScoringInput input)
        : base(env, name, tokenizer)
    {
        Input = input;
    }

    /// <summary>Rows scored so far (by <see cref="Transform"/>'s output, <c>PredictionEngine</c> and <c>Predict</c>).</summary>
    public long ScoredRows => Interlocked.Read(ref _scoredRows);

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <summary>Text columns, truncation and batch size.</summary>
    protected TextScoringInput Input { get; }

    /// <summary>Floats the network gives per row (class probabilities: the class count; a regression score: 1).</summary>
    protected abstract int OutputWidth { get; }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema); // same indices as the input; our columns hide any of the same name
        Columns().AddTo(b);
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

    /// <summary>Releases the model's native resources.</summary>
    public abstract void Dispose();

    /// <summary>The columns this model adds, made from a row's <see cref="OutputWidth"/> outputs.</summary>
    private protected abstract IScoreColumns Columns();

    /// <summary>The outputs of one batch of encoded rows (at least one), <see cref="OutputWidth"/> per row, row after
    /// row: one forward pass. Thread-safe.</summary>
    private protected abstract float[] Outputs(IReadOnlyList<EncodedText> encoded);

    /// <summary>The outputs (<see cref="OutputWidth"/> per row) for texts and, for a sentence-pair model, their second
    /// sentences, scored <see cref="TextScoringInput.ScoringBatchSize"/> rows per forward pass. A null text scores as an
    /// empty one.</summary>
    /// <exception cref="ArgumentException"><paramref name="second"/> has another count than <paramref name="texts"/>.</exception>
    private protected float[][] PredictOutputs(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second) =>
        TextClassifierScoring.Predict(this, texts, second);

    /// <summary>The token ids of each row (a null text as an empty one).</summary>
    private EncodedText[] Encode(IReadOnlyList<(string? First, string? Second)> rows) => EncodeRows(rows);

    /// <summary>The token ids of each row (a null text as an empty one): the text (pair) as the tokenizer encodes it; a
    /// token classifier encodes the row's words instead. Thread-safe.</summary>
    private protected virtual EncodedText[] EncodeRows(IReadOnlyList<(string? First, string? Second)> rows) =>
        rows.Select(r => Tokenizer.Encode(r.First, Input.Sentence2 is null ? null : r.Second ?? string.Empty, Input.MaxSequenceLength)).ToArray();

    /// <summary>Each row's outputs from one forward pass's <paramref name="flat"/> outputs: <see cref="OutputWidth"/> per
    /// row; a token classifier gives one per word instead.</summary>
    private protected virtual float[][] SplitOutputs(float[] flat, IReadOnlyList<EncodedText> encoded)
    {
        int k = OutputWidth;
        return Enumerable.Range(0, encoded.Count).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    /// <summary>The outputs of each encoded row (one forward pass).</summary>
    private float[][] ScoreEncoded(IReadOnlyList<EncodedText> encoded)
    {
        if (encoded.Count == 0)
        {
            return Array.Empty<float[]>();
        }
        var flat = Outputs(encoded);
        Interlocked.Add(ref _scoredRows, encoded.Count);
        return SplitOutputs(flat, encoded);
    }

    private void CheckInput(DataViewSchema schema)
    {
        TextColumns.CheckText(schema, Input.Sentence1, "text");
        if (Input.Sentence2 is not null)
        {
            TextColumns.CheckText(schema, Input.Sentence2, "text");
        }
    }

    int ITextClassifierScorer.ScoringBatchSize => Input.ScoringBatchSize;

    EncodedText[] ITextClassifierScorer.Encode(IReadOnlyList<(string? First, string? Second)> rows) => Encode(rows);

    float[][] ITextClassifierScorer.ScoreEncoded(IReadOnlyList<EncodedText> rows) => ScoreEncoded(rows);

    Delegate ITextClassifierScorer.ScoreGetter(int outputColumn, Func<float[]> outputs) => Columns().Getter(outputColumn, outputs);

    (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) ITextClassifierScorer.TextGetters(DataViewRow row) =>
        (row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Input.Sentence1]),
         Input.Sentence2 is null ? null : row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Input.Sentence2]));

    IEnumerable<DataViewSchema.Column> ITextClassifierScorer.TextColumnsOf(DataViewSchema schema) =>
        new[] { Input.Sentence1, Input.Sentence2 }.OfType<string>().Select(n => schema[n]);
}
