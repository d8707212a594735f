using Microsoft.ML.Gwt.Core.Interop;
using Microsoft.ML.Data;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// The one description of the columns the classifier adds: <c>Score</c> (a vector of class probabilities, with
/// <c>SlotNames</c> as text and <c>TrainingLabelValues</c> in the label's own type when the label has key values) and
/// <c>PredictedLabel</c> (a <c>Key&lt;UInt32&gt;</c> whose <c>KeyValues</c> are the label's, in the label's own type).
/// The estimator's <c>GwtTextClassificationTrainer.GetOutputSchema</c> and the transformer's output schema are
/// both built from <see cref="Describe"/>, so what the estimator promises is what the transformer produces.
/// </summary>
public sealed class ScoreColumns : IScoreColumns
{
    private const string MulticlassKind = "MulticlassClassification";

    private readonly string _score;
    private readonly string _predicted;
    private readonly PrimitiveDataViewType? _keyValueType;
    private readonly int _classes;
    private readonly LabelKeys? _keys;

    private ScoreColumns(string score, string predicted, PrimitiveDataViewType? keyValueType, int classes, LabelKeys? keys)
    {
        _score = score;
        _predicted = predicted;
        _keyValueType = keyValueType;
        _classes = classes;
        _keys = keys;
    }

    /// <summary>The columns a trainer will add for a label column shape (values and class count not known yet).</summary>
    /// <exception cref="ArgumentOutOfRangeException">The label's key values have a type we cannot carry.</exception>
    public static ScoreColumns ForShape(string score, string predicted, SchemaShape.Column label)
    {
        var keyValues = label.Annotations.FirstOrDefault(a => a.Name == AnnotationKinds.KeyValues);
        PrimitiveDataViewType? type = null;
        if (keyValues.Name is not null)
        {
            if (keyValues.Kind != SchemaShape.Column.VectorKind.Vector || keyValues.ItemType is not PrimitiveDataViewType item || !LabelKeys.IsSupported(item))
            {
                throw new ArgumentOutOfRangeException(label.Name, $"The key values of label column '{label.Name}' have type {keyValues.ItemType}, which the trainer cannot carry to PredictedLabel.");
            }
            type = item;
        }
        return new ScoreColumns(score, predicted, type, 0, null);
    }

    /// <summary>The columns a trained model adds.</summary>
    public static ScoreColumns ForModel(string score, string predicted, int classes, LabelKeys? keys) =>
        new(score, predicted, keys?.ItemType, classes, keys);

    /// <summary>The output columns as schema-shape columns (for <c>IEstimator.GetOutputSchema</c>).</summary>
    public IEnumerable<SchemaShape.Column> ToShape() => Describe().Select(c => MlNetInterop.ShapeColumn(c.Name, Kind(c.Vector), c.ItemType, c.IsKey,
        new SchemaShape(c.Annotations.Select(a => MlNetInterop.ShapeColumn(a.Name, Kind(a.Vector), a.ItemType, isKey: false)))));

    private static SchemaShape.Column.VectorKind Kind(bool vector) =>
        vector ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.Scalar;

    /// <summary>Adds the output columns, with their annotation values, to a schema being built.</summary>
    public void AddTo(DataViewSchema.Builder builder)
    {
        foreach (var c in Describe())
        {
            var annotations = new DataViewSchema.Annotations.Builder();
            foreach (var a in c.Annotations)
            {
                a.Add!(annotations);
            }
            DataViewType type = c.IsKey ? new KeyDataViewType(typeof(uint), _classes)
                : c.Vector ? new VectorDataViewType((PrimitiveDataViewType)c.ItemType, _classes) : c.ItemType;
            builder.AddColumn(c.Name, type, annotations.ToAnnotations());
        }
    }

    Delegate IScoreColumns.Getter(int outputColumn, Func<float[]> outputs) => ScoreGetters.Classifier(outputColumn, outputs);

    private sealed record Annotation(string Name, DataViewType ItemType, bool Vector, Action<DataViewSchema.Annotations.Builder>? Add);

    private sealed record Column(string Name, DataViewType ItemType, bool Vector, bool IsKey, IReadOnlyList<Annotation> Annotations);

    private IEnumerable<Column> Describe()
    {
        var text = TextDataViewType.Instance;
        Annotation TextValue(string name, string value) => new(name, text, false, b =>
        {
            ValueGetter<ReadOnlyMemory<char>> getter = (ref ReadOnlyMemory<char> v) => v = value.AsMemory();
            b.Add(name, text, getter);
        });

        var score = new List<Annotation>
        {
            TextValue(AnnotationKinds.ScoreColumnKind, MulticlassKind),
            TextValue(AnnotationKinds.ScoreValueKind, "Score"),
        };
        var predicted = new List<Annotation>
        {
            TextValue(AnnotationKinds.ScoreColumnKind, MulticlassKind),
            TextValue(AnnotationKinds.ScoreValueKind, "PredictedLabel"),
        };
        if (_keyValueType is not null)
        {
            score.Add(new Annotation(AnnotationKinds.SlotNames, text, true, b =>
            {
                var names = _keys!.ToText().Select(n => n.AsMemory()).ToArray();
                ValueGetter<VBuffer<ReadOnlyMemory<char>>> getter = (ref VBuffer<ReadOnlyMemory<char>> v) =>
                    v = new VBuffer<ReadOnlyMemory<char>>(names.Length, names);
                b.Add(AnnotationKinds.SlotNames, new VectorDataViewType(text, names.Length), getter);
            }));
            score.Add(new Annotation(AnnotationKinds.TrainingLabelValues, _keyValueType, true,
                b => _keys!.AddAnnotation(b, AnnotationKinds.TrainingLabelValues)));
            predicted.Add(new Annotation(AnnotationKinds.KeyValues, _keyValueType, true,
                b => _keys!.AddAnnotation(b, AnnotationKinds.KeyValues)));
        }
        yield return new Column(_score, NumberDataViewType.Single, true, false, score);
        yield return new Column(_predicted, NumberDataViewType.UInt32, false, true, predicted);
    }
}

/// <summary>The columns a scoring transformer adds, made from a row's network outputs.</summary>
internal interface IScoreColumns
{
    /// <summary>Adds the output columns, with their annotation values, to a schema being built.</summary>
    void AddTo(DataViewSchema.Builder builder);

    /// <summary>The getter of output column <paramref name="outputColumn"/> (0 = the first one added) over a source of
    /// the current row's outputs.</summary>
    Delegate Getter(int outputColumn, Func<float[]> outputs);
}

/// <summary>ML.NET's annotation names (its <c>AnnotationUtils.Kinds</c> is internal).</summary>
internal static class AnnotationKinds
{
    public const string KeyValues = "KeyValues";
    public const string SlotNames = "SlotNames";
    public const string ScoreColumnKind = "ScoreColumnKind";
    public const string ScoreValueKind = "ScoreValueKind";
    public const string TrainingLabelValues = "TrainingLabelValues";
}
