using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Trainers;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Tests.Trainers;

public sealed class TypedRow<T>
{
    public T Label { get; set; } = default!;
    public string Text { get; set; } = "";
}

public sealed class OneLabel<T>
{
    public T Label { get; set; } = default!;
}

public sealed class TypedPrediction<T>
{
    public T PredictedLabel { get; set; } = default!;
    public float[] Score { get; set; } = Array.Empty<float>();
}

/// <summary>Labels that are not strings: ML.NET's own multiclass trainers take any Key&lt;UInt32&gt; label whatever its
/// key values' type, and the README's pipeline maps the predicted key back to that type.</summary>
[TestClass]
public sealed class LabelTypesTests
{
    [TestMethod]
    public void IntLabelsGoThroughTheReadmePipeline() => ReadmePipeline(l => l == "ham" ? 7 : -3);

    [TestMethod]
    public void UIntLabelsGoThroughTheReadmePipeline() => ReadmePipeline(l => l == "ham" ? 7u : 3000000000u);

    [TestMethod]
    public void BoolLabelsGoThroughTheReadmePipeline() => ReadmePipeline(l => l == "spam");

    [TestMethod]
    public void FloatLabelsGoThroughTheReadmePipeline() => ReadmePipeline(l => l == "ham" ? 0.25f : -1.5f);

    [TestMethod]
    public void TextLabelsGoThroughTheReadmePipeline() => ReadmePipeline(l => l);

    /// <summary>
    /// MapValueToKey → Gwt → MapKeyToValue("PredictedLabel"), as in the README: the estimator chain's
    /// GetOutputSchema promises exactly the Score/PredictedLabel columns, types and annotations the fitted chain
    /// produces; PredictedLabel comes back in the label's own type and is the label value (in first-appearance key
    /// order, MapValueToKey's default) of the highest score; PredictionEngine agrees.
    /// </summary>
    private static void ReadmePipeline<T>(Func<string, T> label) where T : notnull
    {
        var ml = new MLContext(seed: 1);
        var emails = SpamData.Take("train", 16, "ham", "spam");
        var rows = emails.Select(e => new TypedRow<T> { Label = label(e.Label), Text = e.Text }).ToList();
        var data = ml.Data.LoadFromEnumerable(rows);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        o.MaxSequenceLength = 32;
        var pipeline = ml.Transforms.Conversion.MapValueToKey("Label")
            .Append(ml.MulticlassClassification.Trainers.Gwt(o))
            .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedLabel"));

        var promised = pipeline.GetOutputSchema(ShapeOf(data.Schema));
        var model = pipeline.Fit(data);
        var scored = model.Transform(data);

        // The trainer's own output (before MapKeyToValue) against what its estimator promised.
        var trainerOutput = model.Take(2).Last().Transform(model.First().Transform(data)).Schema;
        var trainerPromise = ml.MulticlassClassification.Trainers.Gwt(o).GetOutputSchema(
            ml.Transforms.Conversion.MapValueToKey("Label").GetOutputSchema(ShapeOf(data.Schema)));
        foreach (var name in new[] { "Score", "PredictedLabel" })
        {
            AssertShapeMatches(trainerPromise.Single(c => c.Name == name), trainerOutput[name]);
        }
        var keyValues = trainerOutput["PredictedLabel"].Annotations.Schema["KeyValues"].Type;
        Assert.AreEqual(typeof(T) == typeof(string) ? typeof(ReadOnlyMemory<char>) : typeof(T), ((VectorDataViewType)keyValues).ItemType.RawType,
            "PredictedLabel's key values keep the label's type");
        AssertShapeMatches(promised.Single(c => c.Name == "PredictedLabel"), scored.Schema["PredictedLabel"]);

        var classes = rows.Select(r => r.Label).Distinct().ToList();
        var scores = scored.GetColumn<float[]>("Score").ToArray();
        var predicted = scored.GetColumn<T>("PredictedLabel").Cast<object>().ToArray();
        Assert.HasCount(rows.Count, predicted);
        for (int i = 0; i < rows.Count; i++)
        {
            int best = Array.IndexOf(scores[i], scores[i].Max());
            Assert.AreEqual(classes[best], predicted[i], $"row {i}: scores {string.Join(", ", scores[i])}");
        }

        using var saved = new MemoryStream();
        ml.Model.Save(model, data.Schema, saved);
        var loaded = new MLContext(2).Model.Load(new MemoryStream(saved.ToArray()), out _);
        CollectionAssert.AreEqual(predicted, loaded.Transform(data).GetColumn<T>("PredictedLabel").Cast<object>().ToArray(), "after save and load");

        var engine = ml.Model.CreatePredictionEngine<TypedRow<T>, TypedPrediction<T>>(model);
        for (int i = 0; i < 3; i++)
        {
            var p = engine.Predict(rows[i]);
            Assert.AreEqual(predicted[i], p.PredictedLabel);
            Assert.AreEqual(scores[i][0], p.Score[0], 1e-5f);
        }
    }

    /// <summary>ML.NET's <c>SchemaShape.Create(schema)</c> (internal): what Fit's caller passes to GetOutputSchema.</summary>
    internal static SchemaShape ShapeOf(DataViewSchema schema) =>
        (SchemaShape)typeof(SchemaShape).GetMethod("Create", System.Reflection.BindingFlags.Static | System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.NonPublic,
            new[] { typeof(DataViewSchema) })!.Invoke(null, new object[] { schema })!;

    private static void AssertShapeMatches(SchemaShape.Column promised, DataViewSchema.Column actual)
    {
        var itemType = actual.Type is VectorDataViewType v ? v.ItemType : actual.Type;
        Assert.AreEqual(actual.Type is VectorDataViewType, promised.Kind == SchemaShape.Column.VectorKind.Vector, $"{actual.Name}: vector");
        Assert.AreEqual(actual.Type is KeyDataViewType, promised.IsKey, $"{actual.Name}: key");
        Assert.AreEqual(itemType.RawType, promised.ItemType.RawType, $"{actual.Name}: item type");
        var promisedAnnotations = promised.Annotations.ToDictionary(a => a.Name);
        var actualAnnotations = actual.Annotations.Schema.ToDictionary(a => a.Name);
        CollectionAssert.AreEquivalent(actualAnnotations.Keys.ToList(), promisedAnnotations.Keys.ToList(), $"{actual.Name}: annotations");
        foreach (var (name, a) in actualAnnotations)
        {
            var p = promisedAnnotations[name];
            var aItem = a.Type is VectorDataViewType av ? av.ItemType : a.Type;
            Assert.AreEqual(aItem.RawType, p.ItemType.RawType, $"{actual.Name}.{name}: type");
            Assert.AreEqual(a.Type is VectorDataViewType, p.Kind == SchemaShape.Column.VectorKind.Vector, $"{actual.Name}.{name}: vector");
        }
    }

    [TestMethod]
    public void KeyValuesOfEveryPrimitiveTypeRoundTripUnconverted()
    {
        var ml = new MLContext(1);
        var t0 = new DateTime(2024, 2, 29, 13, 5, 7, DateTimeKind.Utc);
        Check(ml, new[] { "b", "a", "c" });
        Check(ml, new[] { true, false });
        Check(ml, new sbyte[] { -5, 7 });
        Check(ml, new byte[] { 200, 3 });
        Check(ml, new short[] { -300, 12 });
        Check(ml, new ushort[] { 60000, 1 });
        Check(ml, new[] { -7, 3, int.MaxValue });
        Check(ml, new uint[] { 3000000000u, 0u });
        Check(ml, new[] { long.MinValue, 5L });
        Check(ml, new ulong[] { ulong.MaxValue, 2UL });
        Check(ml, new[] { 0.1f, -2.5f, float.MaxValue });
        Check(ml, new[] { 0.1, -1e300 });
        Check(ml, new[] { TimeSpan.FromMilliseconds(1234.5), TimeSpan.Zero });
        Check(ml, new[] { t0, t0.AddDays(-400) });
        Check(ml, new[] { new DateTimeOffset(2020, 1, 2, 3, 4, 5, TimeSpan.FromHours(5.5)), DateTimeOffset.UnixEpoch });
    }

    /// <summary>MapValueToKey's KeyValues for <paramref name="values"/> (in that order): read, compared, saved and read
    /// back, and annotated again, in their own type with the same values.</summary>
    private static void Check<T>(MLContext ml, T[] values)
    {
        var data = ml.Data.LoadFromEnumerable(values.Select(v => new OneLabel<T> { Label = v }));
        var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
        var keys = LabelKeys.FromColumn(keyed.Schema["Label"])!;
        Assert.AreEqual(values.Length, keys.Count, typeof(T).Name);
        Assert.IsNull(keys.FirstDifference(keys));

        using var ms = new MemoryStream();
        using (var w = new BinaryWriter(ms, System.Text.Encoding.UTF8, leaveOpen: true))
        {
            keys.Save(w);
        }
        ms.Position = 0;
        var back = LabelKeys.Load(new BinaryReader(ms), values.Length);
        Assert.IsNull(back.FirstDifference(keys), typeof(T).Name);
        Assert.AreEqual(keys.ItemType, back.ItemType);

        var annotations = new DataViewSchema.Annotations.Builder();
        back.AddAnnotation(annotations, "KeyValues");
        var built = annotations.ToAnnotations();
        Assert.AreEqual(typeof(T) == typeof(string) ? typeof(ReadOnlyMemory<char>) : typeof(T), ((VectorDataViewType)built.Schema["KeyValues"].Type).ItemType.RawType);
        if (typeof(T) == typeof(string))
        {
            VBuffer<ReadOnlyMemory<char>> text = default;
            built.GetValue("KeyValues", ref text);
            CollectionAssert.AreEqual(values, text.DenseValues().Select(v => v.ToString()).ToArray());
        }
        else
        {
            VBuffer<T> got = default;
            built.GetValue("KeyValues", ref got);
            CollectionAssert.AreEqual(values, got.DenseValues().ToArray(), typeof(T).Name);
        }

        if (values.Length > 1)
        {
            var reversed = ml.Data.LoadFromEnumerable(values.Reverse().Select(v => new OneLabel<T> { Label = v }));
            var other = LabelKeys.FromColumn(ml.Transforms.Conversion.MapValueToKey("Label").Fit(reversed).Transform(reversed).Schema["Label"])!;
            StringAssert.StartsWith(other.FirstDifference(keys), "key 1 is ");
        }
    }

    [TestMethod]
    public void ValidationSetMappedInAnotherKeyOrderIsRejected()
    {
        var ml = new MLContext(1);
        var train = ml.Data.LoadFromEnumerable(SpamData.Take("train", 8, "ham", "spam"));
        var reversed = SpamData.Take("test", 8, "ham", "spam");
        reversed.Reverse(); // spam first: the other mapping numbers spam 1 and ham 2
        var validation = ml.Data.LoadFromEnumerable(reversed);
        var trainKeyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(train).Transform(train);
        var validationKeyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(validation).Transform(validation);
        var o = TrainerTests.Fast(GwtOptimizerKind.Gwt);
        o.MaxEpochs = 1;
        o.ValidationSet = validationKeyed;
        var ex = Assert.ThrowsExactly<ArgumentException>(() => ml.MulticlassClassification.Trainers.Gwt(o).Fit(trainKeyed));
        StringAssert.Contains(ex.Message, "'Label'");
        StringAssert.Contains(ex.Message, "key 1 is 'spam' against 'ham'");
    }
}
