using Microsoft.ML.Gwt.Core.Tokenization;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Scoring;

/// <summary>
/// What every Microsoft.ML.Gwt transformer shares, whatever it scores (<see cref="TextScoringTransformerBase"/>: one or two
/// texts a row; <c>QuestionAnswerTransformerBase</c>: a context and a question): its ML.NET host, its tokenizer, and
/// saving itself in <c>mlContext.Model.Save</c> as one entry (<see cref="Entry"/>) holding its settings, then each part
/// (the tokenizer's among them) with a SHA-256. Only Microsoft.ML.Gwt's own transformers derive from it.
/// </summary>
public abstract class TextModelTransformerBase : ICanSaveModel
{
    /// <summary>The name of the tokenizer's part in model files.</summary>
    protected const string TokenizerPart = "Tokenizer";

    /// <summary>Registers the transformer's host under <paramref name="name"/> and keeps the tokenizer.</summary>
    /// <param name="env">The ML.NET environment (a <see cref="MLContext"/>).</param>
    /// <param name="name">The host's name in ML.NET's messages.</param>
    /// <param name="tokenizer">The tokenizer the model was trained with.</param>
    private protected TextModelTransformerBase(IHostEnvironment env, string name, TextTokenizer tokenizer)
    {
        ArgumentNullException.ThrowIfNull(env);
        Host = env.Register(name);
        Tokenizer = tokenizer ?? throw new ArgumentNullException(nameof(tokenizer));
    }

    /// <summary>The tokenizer.</summary>
    public TextTokenizer Tokenizer { get; }

    /// <summary>The transformer's ML.NET host (for <c>IChannel</c> messages and checks).</summary>
    protected IHost Host { get; }

    /// <summary>This transformer's entry in model files.</summary>
    protected abstract ModelEntry Entry { get; }

    /// <summary>The entry's settings (the first thing in the entry).</summary>
    protected abstract void WriteSettings(BinaryWriter w);

    /// <summary>Writes the model's parts, the tokenizer among them (<see cref="WriteTokenizer"/>).</summary>
    protected abstract void WriteParts(ModelPartWriter parts);

    void ICanSaveModel.Save(ModelSaveContext ctx)
    {
        var parts = ModelPartWriter.Begin(ctx, Entry);
        parts.WriteSettings(WriteSettings);
        WriteParts(parts);
        parts.End();
    }

    /// <summary>Writes the tokenizer's part.</summary>
    protected void WriteTokenizer(ModelPartWriter parts) => parts.Write(TokenizerPart, Tokenizer.Save);

    /// <summary>Reads what <see cref="WriteTokenizer"/> wrote.</summary>
    protected static TextTokenizer ReadTokenizer(ModelPartReader parts) => parts.Read(TokenizerPart, "tokenizer", TextTokenizer.Load);
}
