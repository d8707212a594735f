using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Interop;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// The one description of the column a text regressor adds: <c>Score</c>, a float scalar annotated as ML.NET's
/// regression trainers annotate theirs (<c>ScoreColumnKind</c> "Regression", <c>ScoreValueKind</c> "Score"), so
/// <c>mlContext.Regression.Evaluate</c> reads it. The trainer's <c>GetOutputSchema</c> and the transformer's output
/// schema are both built from it.
/// </summary>
public sealed class RegressionScoreColumns : IScoreColumns
{
    private const string RegressionKind = "Regression";

    private readonly string _score;

    /// <summary>The columns of a regressor whose score column is <paramref name="score"/>.</summary>
    public RegressionScoreColumns(string score)
    {
        ArgumentException.ThrowIfNullOrEmpty(score);
        _score = score;
    }

    /// <summary>The output column as a schema-shape column (for <c>IEstimator.GetOutputSchema</c>).</summary>
    public IEnumerable<SchemaShape.Column> ToShape()
    {
        var annotations = new SchemaShape(new[]
        {
            MlNetInterop.ShapeColumn(AnnotationKinds.ScoreColumnKind, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, isKey: false),
            MlNetInterop.ShapeColumn(AnnotationKinds.ScoreValueKind, SchemaShape.Column.VectorKind.Scalar, TextDataViewType.Instance, isKey: false),
        });
        yield return MlNetInterop.ShapeColumn(_score, SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false, annotations);
    }

    /// <inheritdoc />
    void IScoreColumns.AddTo(DataViewSchema.Builder builder)
    {
        var annotations = new DataViewSchema.Annotations.Builder();
        foreach (var (name, value) in new[] { (AnnotationKinds.ScoreColumnKind, RegressionKind), (AnnotationKinds.ScoreValueKind, "Score") })
        {
            ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> v) => v = value.AsMemory();
            annotations.Add(name, TextDataViewType.Instance, getter);
        }
        builder.AddColumn(_score, NumberDataViewType.Single, annotations.ToAnnotations());
    }

    /// <inheritdoc />
    Delegate IScoreColumns.Getter(int outputColumn, Func<float[]> outputs) =>
        (ValueGetter<float>)((ref float v) => v = outputs()[0]);
}

/// <summary>What a text regressor is besides its network: text columns, the score column, truncation and batch size.
/// Both regressors' model entries begin with it (<see cref="Write"/>), and the ONNX scoring folder's manifest holds it.</summary>
/// <param name="Sentence1">The first text column.</param>
/// <param name="Sentence2">The second text column; null for one text.</param>
/// <param name="ScoreColumn">The output score column.</param>
/// <param name="MaxSequenceLength">Tokens per example.</param>
/// <param name="ScoringBatchSize">Rows per forward pass.</param>
public sealed record TextRegressorSettings(string Sentence1, string? Sentence2, string ScoreColumn, int MaxSequenceLength, int ScoringBatchSize)
{
    /// <summary>Writes the settings.</summary>
    public void Write(BinaryWriter w)
    {
        ArgumentNullException.ThrowIfNull(w);
        w.Write(Sentence1);
        w.Write(Sentence2 is not null);
        w.Write(Sentence2 ?? string.Empty);
        w.Write(ScoreColumn);
        w.Write(MaxSequenceLength);
        w.Write(ScoringBatchSize);
    }

    /// <summary>Reads what <see cref="Write"/> wrote.</summary>
    public static TextRegressorSettings Read(BinaryReader r)
    {
        ArgumentNullException.ThrowIfNull(r);
        string first = r.ReadString();
        bool hasSecond = r.ReadBoolean();
        string second = r.ReadString();
        return new(first, hasSecond ? second : null, r.ReadString(), r.ReadInt32(), r.ReadInt32());
    }

    /// <summary>Refuses values no trainer or exporter writes; <paramref name="source"/> begins the message.</summary>
    /// <exception cref="InvalidDataException">A value is out of range.</exception>
    public void Validate(string source)
    {
        if (string.IsNullOrEmpty(Sentence1) || string.IsNullOrEmpty(ScoreColumn) || MaxSequenceLength < 4 || ScoringBatchSize < 1)
        {
            throw new InvalidDataException($"{source} has invalid settings (max length {MaxSequenceLength}, batch {ScoringBatchSize}, " +
                $"text column '{Sentence1}', score column '{ScoreColumn}').");
        }
    }
}
