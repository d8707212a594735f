using Google.Protobuf;
using Microsoft.ML.Gwt.Modeling;
using Onnx;
using TorchSharp;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.OnnxExport;

/// <summary>
/// Writes a <see cref="TextClassificationModel"/> as one ONNX graph (opset <see cref="OnnxGraphBuilder.Opset"/>): inputs
/// <c>input_ids</c>, <c>attention_mask</c> and, where the family has token types, <c>token_type_ids</c> (int64
/// <c>[batch, sequence]</c>, both axes dynamic); output <see cref="ProbabilitiesName"/>, the softmax of the logits
/// <c>[batch, classes]</c>, or for a one-output regression model (sentence similarity) <see cref="ScoreName"/>, its logit
/// <c>[batch]</c>. Weights are float32 initializers under their PyTorch names.
/// </summary>
internal static class OnnxModelExporter
{
    /// <summary>The output: class probabilities.</summary>
    public const string ProbabilitiesName = "probabilities";

    /// <summary>The output of a regression model: its score.</summary>
    public const string ScoreName = "score";

    /// <summary>The token classifier's output: tag logits <c>[batch, tokens, tags]</c>.</summary>
    public const string TokenLogitsName = "logits";

    /// <summary>The output of a question-answering model: every position's start and end logits, <c>[batch, sequence, 2]</c>.</summary>
    public const string SpanLogitsName = "span_logits";

    /// <summary>The graph of <paramref name="model"/>.</summary>
    public static ModelProto Build(TextClassificationModel model, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        ArgumentNullException.ThrowIfNull(model);
        var config = model.Encoder.Config;
        var state = model.state_dict();
        bool regression = model.NumClasses == 1;
        string kind = model.HeadKind switch
        {
            TextHeadKind.TokenClassification => "token_classifier",
            TextHeadKind.QuestionAnswering => "question_answering",
            _ => regression ? "regressor" : "classifier",
        };
        var g = new OnnxGraphBuilder($"gwt_{config.ModelType}_{kind}", quantization == GwtOnnxQuantization.DynamicInt8);
        var inputs = OnnxEncoderInputs.Declare(g, config);
        var encoder = new OnnxWeights(state, config.EncoderPrefix + ".");
        var hidden = config.Family switch
        {
            TransformerFamily.DistilBert => DistilBertOnnxEncoder.Encode(g, encoder, config, inputs),
            TransformerFamily.DebertaV2 => DebertaV2OnnxEncoder.Encode(g, encoder, config, inputs),
            _ => BertOnnxEncoder.Encode(g, encoder, config, inputs),
        };
        if (model.HeadKind == TextHeadKind.TokenClassification)
        {
            // Hugging Face's *ForTokenClassification: classifier(hidden) at every position (dropout is the identity).
            var tokenLogits = g.Linear(hidden, encoder.WithPrefix(""), "classifier");
            g.Output(tokenLogits, TokenLogitsName, TensorProto.Types.DataType.Float, "batch", "tokens",
                model.NumClasses.ToString(System.Globalization.CultureInfo.InvariantCulture));
            return g.Build(typeof(OnnxModelExporter).Assembly.GetName().Version?.ToString() ?? "0");
        }
        if (model.HeadKind == TextHeadKind.QuestionAnswering)
        {
            // *ForQuestionAnswering: qa_outputs on every position (DistilBERT's dropout is the identity at inference).
            var span = g.Linear(hidden, encoder.WithPrefix(""), "qa_outputs");
            g.Output(span, SpanLogitsName, TensorProto.Types.DataType.Float, "batch", "sequence", "2");
            return g.Build(typeof(OnnxModelExporter).Assembly.GetName().Version?.ToString() ?? "0");
        }
        var logits = OnnxClassificationHead.Logits(g, encoder, encoder.WithPrefix(""), config, hidden);
        if (regression)
        {
            g.Output(g.Node("Squeeze", new[] { logits, g.Vector(1) }), ScoreName, TensorProto.Types.DataType.Float, "batch");
        }
        else
        {
            var probabilities = g.Node("Softmax", new[] { logits }, null, OnnxGraphBuilder.Attr("axis", 1));
            g.Output(probabilities, ProbabilitiesName, TensorProto.Types.DataType.Float, "batch", model.NumClasses.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        var version = typeof(OnnxModelExporter).Assembly.GetName().Version?.ToString() ?? "0";
        return g.Build(version);
    }

    /// <summary>The serialized graph.</summary>
    public static byte[] ToBytes(TextClassificationModel model, GwtOnnxQuantization quantization = GwtOnnxQuantization.None)
    {
        using var noGrad = torch.no_grad();
        return Build(model, quantization).ToByteArray();
    }
}
