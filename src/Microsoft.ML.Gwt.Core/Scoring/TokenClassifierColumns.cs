using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Interop;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// The one description of the column a token classifier adds: a variable-length vector of <c>Key&lt;UInt32&gt;</c>, one
/// key per word, whose key count and <c>KeyValues</c> are the label's (in the label's own type), so
/// <c>MapKeyToValue</c> gives back the tags, as ML.NET's <c>NamedEntityRecognition</c> output does. The trainer's
/// <c>GetOutputSchema</c> and the transformer's output schema are both built from it.
/// </summary>
public sealed class TokenClassifierColumns : IScoreColumns
{
    private readonly string _output;
    private readonly int _tags;
    private readonly LabelKeys? _keys;

    /// <summary>The column of a model with <paramref name="tags"/> tags whose values are <paramref name="keys"/>.</summary>
    public TokenClassifierColumns(string output, int tags, LabelKeys? keys)
    {
        ArgumentException.ThrowIfNullOrEmpty(output);
        _output = output;
        _tags = tags;
        _keys = keys;
    }

    /// <summary>The output column as a schema-shape column (for <c>IEstimator.GetOutputSchema</c>); the label's
    /// annotations shape gives the key values' type.</summary>
    public static IEnumerable<SchemaShape.Column> ToShape(string output, SchemaShape.Column label)
    {
        var keyValues = label.Annotations.FirstOrDefault(a => a.Name == AnnotationKinds.KeyValues);
        var annotations = keyValues.Name is null ? null : new SchemaShape(new[]
        {
            MlNetInterop.ShapeColumn(AnnotationKinds.KeyValues, SchemaShape.Column.VectorKind.Vector, keyValues.ItemType, isKey: false),
        });
        yield return MlNetInterop.ShapeColumn(output, SchemaShape.Column.VectorKind.VariableVector, NumberDataViewType.UInt32, true, annotations);
    }

    /// <inheritdoc />
    void IScoreColumns.AddTo(DataViewSchema.Builder builder)
    {
        var annotations = new DataViewSchema.Annotations.Builder();
        _keys?.AddAnnotation(annotations, AnnotationKinds.KeyValues);
        builder.AddColumn(_output, new VectorDataViewType(new KeyDataViewType(typeof(uint), _tags)), annotations.ToAnnotations());
    }

    /// <inheritdoc />
    Delegate IScoreColumns.Getter(int outputColumn, Func<float[]> outputs) =>
        (ValueGetter<VBuffer<uint>>)((ref VBuffer<uint> v) =>
        {
            var keys = outputs();
            var editor = VBufferEditor.Create(ref v, keys.Length);
            for (int i = 0; i < keys.Length; i++)
            {
                editor.Values[i] = (uint)keys[i];
            }
            v = editor.Commit();
        });
}
