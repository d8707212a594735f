using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Gwt.Core.Scoring;
using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.QuestionAnswering;

/// <summary>
/// What both question-answering transformers share (TorchSharp's <c>GwtQuestionAnswerTransformer</c> and ONNX Runtime's
/// <c>GwtOnnxQuestionAnswerTransformer</c>): each row's context is split into windows with the question
/// (<see cref="QuestionAnswerWindows"/>), the network gives every position's start and end logits, and
/// <see cref="AnswerSpans"/> turns them into the top-k answers, which <see cref="Transform"/> adds lazily as two columns:
/// <c>Answer</c> (a vector of text, best first) and <c>Score</c> (their probabilities), as ML.NET's <c>QATransformer</c>
/// does. It works row by row in a <c>PredictionEngine</c> and saves itself in <c>mlContext.Model.Save</c> (settings, then
/// each part with a SHA-256). A derived class gives the network (<see cref="SpanLogits"/>).
/// </summary>
public abstract class QuestionAnswerTransformerBase : TextModelTransformerBase, ITransformer, IDisposable
{
    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps what scoring needs.</summary>
    protected QuestionAnswerTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer, QuestionAnswerSettings settings)
        : base(env, name, tokenizer)
    {
        Settings = settings ?? throw new ArgumentNullException(nameof(settings));
    }

    /// <summary>Columns, answers per row, windows and batch size.</summary>
    public QuestionAnswerSettings Settings { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <summary>Each window's logits, position after position, start and end interleaved (<c>2 × length</c> floats for a
    /// window of <c>length</c> ids): one forward pass per <see cref="QuestionAnswerSettings.ScoringBatchSize"/> windows.
    /// Thread-safe.</summary>
    protected abstract float[][] SpanLogits(IReadOnlyList<EncodedText> windows);

    /// <summary>The top-k answers to <paramref name="question"/> in <paramref name="context"/> (null: empty), best first.</summary>
    public PredictedAnswer[] Predict(string? context, string? question)
    {
        var words = ContextWords.Split(context);
        var windows = QuestionAnswerWindows.Encode(Tokenizer, words, question, Settings.Layout);
        var logits = new List<float[]>(windows.Count);
        foreach (var chunk in windows.Chunk(Settings.ScoringBatchSize))
        {
            logits.AddRange(SpanLogits(chunk.Select(w => w.Text).ToArray()));
        }
        var spans = windows.Select((w, i) => (w.WordIndex, Every(logits[i], 0), Every(logits[i], 1))).ToList();
        return AnswerSpans.Decode(words, spans, Settings.TopK, Settings.Layout.MaxAnswerTokens);
    }

    private static float[] Every(float[] interleaved, int offset)
    {
        var result = new float[interleaved.Length / 2];
        for (int i = 0; i < result.Length; i++)
        {
            result[i] = interleaved[2 * i + offset];
        }
        return result;
    }

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema);
        b.AddColumn(Settings.Answer, new VectorDataViewType(TextDataViewType.Instance));
        b.AddColumn(Settings.Score, new VectorDataViewType(NumberDataViewType.Single));
        return b.ToSchema();
    }

    /// <summary>The columns the model adds, as an estimator's output schema shape describes them.</summary>
    public static IEnumerable<SchemaShape.Column> OutputShape(string answer, string score) => new[]
    {
        MlNetInterop.ShapeColumn(answer, SchemaShape.Column.VectorKind.VariableVector, TextDataViewType.Instance, false),
        MlNetInterop.ShapeColumn(score, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.Single, false),
    };

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        CheckInput(input.Schema);
        return new QuestionAnswerDataView(this, input);
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        return new QuestionAnswerRowMapper(this, inputSchema);
    }

    private void CheckInput(DataViewSchema schema)
    {
        TextColumns.CheckText(schema, Settings.Context, "context");
        TextColumns.CheckText(schema, Settings.Question, "question");
    }

    /// <summary>The context and question columns of <paramref name="schema"/>.</summary>
    internal IEnumerable<DataViewSchema.Column> InputColumns(DataViewSchema schema) => new[] { schema[Settings.Context], schema[Settings.Question] };

    /// <summary>Releases the model's native resources.</summary>
    public abstract void Dispose();

    /// <summary>The entry's settings: <see cref="Settings"/>, then what the model adds.</summary>
    protected override void WriteSettings(BinaryWriter w) => Settings.Write(w);
}
