using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Modeling;
using Microsoft.ML.Gwt.Tokenization;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The trained text classifier. <see cref="Transform"/> lazily adds a <c>Score</c> column (a vector of class
/// probabilities) and a <c>PredictedLabel</c> key column (with the training label's values), scoring rows in batches;
/// it works with <c>PredictionEngine</c>, <c>mlContext.MulticlassClassification.Evaluate</c> and
/// <c>mlContext.Model.Save/Load</c> (the model file holds the config, tokenizer, weights and label names).
/// Scoring is thread-safe.
/// </summary>
public sealed class GwtTextClassificationTransformer : ITransformer, IDisposable
{
    internal const string LoaderSignature = "GwtTextClassifierExec";
    private const string ModelSignature = "GWTTXTCL";
    private const uint Version = 0x00010001;

    private readonly IHost _host;
    private readonly TextClassificationModel _model;
    private readonly Device _device;
    private readonly object _deviceLock = new();

    internal sealed record Settings(string Sentence1, string? Sentence2, string ScoreColumn, string PredictedLabelColumn,
        int MaxSequenceLength, int ScoringBatchSize, string[]? LabelNames);

    internal GwtTextClassificationTransformer(IHostEnvironment env, TextClassificationModel model, TextTokenizer tokenizer, Settings settings,
        GwtTrainingResult? training = null)
    {
        _host = env.Register(nameof(GwtTextClassificationTransformer));
        _model = model;
        _model.eval();
        Tokenizer = tokenizer;
        Options = settings;
        TrainingResult = training;
        _device = model.parameters().First().device;
    }

    /// <summary>The number of classes.</summary>
    public int NumClasses => _model.NumClasses;

    /// <summary>The label values in key order, when the training label had them.</summary>
    public IReadOnlyList<string>? LabelNames => Options.LabelNames;

    /// <summary>The underlying TorchSharp module (encoder and classification head), in evaluation mode.</summary>
    public TextClassificationModel Model => _model;

    /// <summary>The encoder's configuration.</summary>
    public TransformerConfig Config => _model.Encoder.Config;

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>What the training run did (losses, validation, timing); null for a loaded model.</summary>
    public GwtTrainingResult? TrainingResult { get; }

    internal Settings Options { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        CheckInput(inputSchema);
        var b = new DataViewSchema.Builder();
        b.AddColumns(inputSchema); // same indices as the input; our columns hide any of the same name
        foreach (var (name, type, annotations) in OutputColumns())
        {
            b.AddColumn(name, type, annotations);
        }
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

    /// <summary>Class probabilities for texts (and optional second sentences), scored in batches.</summary>
    public float[][] Predict(IReadOnlyList<string?> texts, IReadOnlyList<string?>? second = null)
    {
        ArgumentNullException.ThrowIfNull(texts);
        var result = new float[texts.Count][];
        for (int start = 0; start < texts.Count; start += Options.ScoringBatchSize)
        {
            int n = Math.Min(Options.ScoringBatchSize, texts.Count - start);
            var probs = ScoreBatch(Enumerable.Range(start, n).Select(i => (texts[i], second?[i])).ToList());
            Array.Copy(probs, 0, result, start, n);
        }
        return result;
    }

    internal float[][] ScoreBatch(IReadOnlyList<(string? First, string? Second)> rows)
    {
        var encoded = rows.Select(r => Tokenizer.Encode(r.First, Options.Sentence2 is null ? null : r.Second ?? string.Empty, Options.MaxSequenceLength)).ToList();
        using var scope = torch.NewDisposeScope();
        using var noGrad = torch.no_grad();
        using var tokens = TokenBatch.Create(encoded, Tokenizer.PadId, _device);
        Tensor probs;
        if (_device.type == DeviceType.CPU)
        {
            probs = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds).softmax(1);
        }
        else
        {
            lock (_deviceLock)
            {
                probs = _model.Forward(tokens.InputIds, tokens.AttentionMask, tokens.TokenTypeIds).softmax(1).cpu();
            }
        }
        var flat = probs.to(ScalarType.Float32).cpu().data<float>().ToArray();
        int k = NumClasses;
        return Enumerable.Range(0, rows.Count).Select(r => flat.AsSpan(r * k, k).ToArray()).ToArray();
    }

    private void CheckInput(DataViewSchema schema)
    {
        TextColumns.CheckText(schema, Options.Sentence1, "text");
        if (Options.Sentence2 is not null)
        {
            TextColumns.CheckText(schema, Options.Sentence2, "text");
        }
    }

    internal IEnumerable<(string Name, DataViewType Type, DataViewSchema.Annotations Annotations)> OutputColumns()
    {
        int k = NumClasses;
        var score = new DataViewSchema.Annotations.Builder();
        var names = Options.LabelNames;
        if (names is not null)
        {
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> slotNames = (ref VBuffer<ReadOnlyMemory<char>> v) =>
                v = new VBuffer<ReadOnlyMemory<char>>(k, names.Select(n => n.AsMemory()).ToArray());
            score.Add("SlotNames", new VectorDataViewType(TextDataViewType.Instance, k), slotNames);
        }
        ValueGetter<ReadOnlyMemory<char>> kind = (ref ReadOnlyMemory<char> v) => v = "MulticlassClassification".AsMemory();
        ValueGetter<ReadOnlyMemory<char>> scoreValue = (ref ReadOnlyMemory<char> v) => v = "Score".AsMemory();
        score.Add("ScoreColumnKind", TextDataViewType.Instance, kind);
        score.Add("ScoreValueKind", TextDataViewType.Instance, scoreValue);
        yield return (Options.ScoreColumn, new VectorDataViewType(NumberDataViewType.Single, k), score.ToAnnotations());

        var predicted = new DataViewSchema.Annotations.Builder();
        if (names is not null)
        {
            ValueGetter<VBuffer<ReadOnlyMemory<char>>> keyValues = (ref VBuffer<ReadOnlyMemory<char>> v) =>
                v = new VBuffer<ReadOnlyMemory<char>>(k, names.Select(n => n.AsMemory()).ToArray());
            predicted.Add("KeyValues", new VectorDataViewType(TextDataViewType.Instance, k), keyValues);
        }
        ValueGetter<ReadOnlyMemory<char>> predictedValue = (ref ReadOnlyMemory<char> v) => v = "PredictedLabel".AsMemory();
        predicted.Add("ScoreColumnKind", TextDataViewType.Instance, kind);
        predicted.Add("ScoreValueKind", TextDataViewType.Instance, predictedValue);
        yield return (Options.PredictedLabelColumn, new KeyDataViewType(typeof(uint), k), predicted.ToAnnotations());
    }

    /// <summary>The key (1-based) of the most probable class.</summary>
    internal static uint ArgMax(float[] probs)
    {
        int best = 0;
        for (int i = 1; i < probs.Length; i++)
        {
            if (probs[i] > probs[best])
            {
                best = i;
            }
        }
        return (uint)best + 1;
    }

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var w = MlNetInterop.BeginSave(ctx, ModelSignature, Version, LoaderSignature);
        w.Write(Options.Sentence1);
        w.Write(Options.Sentence2 is not null);
        w.Write(Options.Sentence2 ?? string.Empty);
        w.Write(Options.ScoreColumn);
        w.Write(Options.PredictedLabelColumn);
        w.Write(Options.MaxSequenceLength);
        w.Write(Options.ScoringBatchSize);
        w.Write(NumClasses);
        w.Write(Options.LabelNames is not null);
        foreach (var name in Options.LabelNames ?? Array.Empty<string>())
        {
            w.Write(name);
        }
        w.Write(Config.ToJson());
        MlNetInterop.SaveBinaryStream(ctx, "Tokenizer", bw => Tokenizer.Save(bw));
        MlNetInterop.SaveBinaryStream(ctx, "Weights", bw =>
        {
            bw.Flush();
            SafeTensors.Save(bw.BaseStream, _model.state_dict());
        });
    }

    /// <summary>ML.NET's loader entry, called by the loader that <see cref="ModelLoaderAssembly"/> emits; <paramref name="ctx"/> is a ModelLoadContext.</summary>
    internal static GwtTextClassificationTransformer CreateFromModelContext(IHostEnvironment env, object ctx)
    {
        var r = MlNetInterop.BeginLoad(ctx, ModelSignature, Version, LoaderSignature);
        try
        {
            string s1 = r.ReadString();
            bool hasS2 = r.ReadBoolean();
            string s2 = r.ReadString();
            string scoreColumn = r.ReadString();
            string predictedColumn = r.ReadString();
            int maxLen = r.ReadInt32();
            int batch = r.ReadInt32();
            int classes = r.ReadInt32();
            if (classes < 2 || classes > 1 << 20 || maxLen < 4 || batch < 1)
            {
                throw new InvalidDataException($"The model file has invalid settings (classes {classes}, max length {maxLen}, batch {batch}).");
            }
            string[]? labels = r.ReadBoolean() ? Enumerable.Range(0, classes).Select(_ => r.ReadString()).ToArray() : null;
            var config = TransformerConfig.FromJson(r.ReadString(), "the model's encoder config");
            TextTokenizer? tokenizer = null;
            if (!MlNetInterop.TryLoadBinaryStream(ctx, "Tokenizer", br => tokenizer = TextTokenizer.Load(br)) || tokenizer is null)
            {
                throw new InvalidDataException("The model file has no tokenizer.");
            }
            if (tokenizer.VocabSize > config.VocabSize)
            {
                throw new InvalidDataException($"The model's tokenizer has {tokenizer.VocabSize} ids but its encoder only {config.VocabSize}.");
            }
            var model = new TextClassificationModel(config, classes);
            Dictionary<string, Tensor>? weights = null;
            if (!MlNetInterop.TryLoadBinaryStream(ctx, "Weights", br =>
            {
                using var ms = new MemoryStream();
                br.BaseStream.CopyTo(ms);
                ms.Position = 0;
                weights = SafeTensors.Load(ms, "the model's weights");
            }) || weights is null)
            {
                throw new InvalidDataException("The model file has no weights.");
            }
            CheckpointLoader.LoadExact(model, weights, model.EncoderPrefix, "The model's weights");
            return new GwtTextClassificationTransformer(env, model, tokenizer,
                new Settings(s1, hasS2 ? s2 : null, scoreColumn, predictedColumn, maxLen, batch, labels));
        }
        catch (EndOfStreamException ex)
        {
            throw new InvalidDataException("The model file is truncated: " + ex.Message, ex);
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException("The model file is damaged: " + ex.Message, ex);
        }
    }

    /// <summary>Releases the model's native memory.</summary>
    public void Dispose() => _model.Dispose();

    /// <summary>Reads the text getters of a row.</summary>
    internal (ValueGetter<ReadOnlyMemory<char>> First, ValueGetter<ReadOnlyMemory<char>>? Second) TextGetters(DataViewRow row) =>
        (row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Options.Sentence1]),
         Options.Sentence2 is null ? null : row.GetGetter<ReadOnlyMemory<char>>(row.Schema[Options.Sentence2]));

    internal IEnumerable<DataViewSchema.Column> TextColumnsOf(DataViewSchema schema) =>
        new[] { Options.Sentence1, Options.Sentence2 }.OfType<string>().Select(n => schema[n]);

    internal static string Read(ValueGetter<ReadOnlyMemory<char>> getter)
    {
        ReadOnlyMemory<char> v = default;
        getter(ref v);
        return v.ToString();
    }
}
