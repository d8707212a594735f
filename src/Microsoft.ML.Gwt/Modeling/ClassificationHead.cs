using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// The sequence-classification head of a family, laid out as Hugging Face's <c>*ForSequenceClassification</c>:
/// BERT <c>classifier</c> over the encoder's pooler; RoBERTa/XLM-R/CamemBERT <c>classifier.dense</c> + tanh +
/// <c>classifier.out_proj</c>; ELECTRA the same with GELU; DistilBERT <c>pre_classifier</c> + ReLU + <c>classifier</c>;
/// DeBERTa <c>pooler.dense</c> (ContextPooler) + <c>classifier</c>. Its modules are registered at the model's top level
/// under these names (<see cref="Parts"/>).
/// </summary>
public abstract class ClassificationHead
{
    private readonly List<(string Name, nn.Module Module)> _parts = new();

    /// <summary>Creates the head of <paramref name="config"/>'s family.</summary>
    public static ClassificationHead Create(TransformerConfig config, int numClasses)
    {
        ArgumentNullException.ThrowIfNull(config);
        return config.Family switch
        {
            TransformerFamily.Roberta => new DenseHead(config, numClasses, "tanh"),
            TransformerFamily.Electra => new DenseHead(config, numClasses, "gelu"),
            TransformerFamily.DistilBert => new DistilBertHead(config, numClasses),
            TransformerFamily.DebertaV2 => new ContextPoolerHead(config, numClasses),
            _ => new PooledHead(config, numClasses),
        };
    }

    /// <summary>Creates Hugging Face's <c>*ForQuestionAnswering</c> span head, the same in every family:
    /// <c>qa_outputs</c>, a <c>Linear(hidden, 2)</c> on every position whose two outputs are the start and end logits
    /// (DistilBERT applies <c>dropout(qa_dropout)</c> before it; the others none).</summary>
    public static ClassificationHead CreateSpan(TransformerConfig config)
    {
        ArgumentNullException.ThrowIfNull(config);
        return new SpanHead(config);
    }

    /// <summary>Top-level module names and modules of the head.</summary>
    public IReadOnlyList<(string Name, nn.Module Module)> Parts => _parts;

    /// <summary>The checkpoint key of the last layer's weight, whose first dimension is the label count
    /// (<c>classifier.weight</c> or <c>classifier.out_proj.weight</c>).</summary>
    public abstract string ClassifierWeightName { get; }

    /// <summary>Class logits <c>[batch, classes]</c> from the encoder's last hidden state.</summary>
    public abstract Tensor Forward(Tensor lastHidden, TransformerEncoder encoder);

    /// <summary>Adds a top-level part.</summary>
    protected void Add(string name, nn.Module module) => _parts.Add((name, module));

    /// <summary>Gives the head's weights Hugging Face's initialization.</summary>
    public void Reinitialize(TransformerConfig config)
    {
        foreach (var (_, module) in _parts)
        {
            TransformerEncoder.InitializeWeights(module, config);
        }
    }

    /// <summary>BERT: <c>classifier(dropout(pooler(hidden)))</c>.</summary>
    private sealed class PooledHead : ClassificationHead
    {
        private readonly Dropout _dropout;
        private readonly Linear _classifier;

        public PooledHead(TransformerConfig c, int classes)
        {
            _dropout = Dropout(c.ClassifierDropout ?? c.HiddenDropoutProb);
            _classifier = Linear(c.HiddenSize, classes);
            Add("dropout", _dropout);
            Add("classifier", _classifier);
        }

        public override string ClassifierWeightName => "classifier.weight";

        public override Tensor Forward(Tensor lastHidden, TransformerEncoder encoder)
        {
            using var pooled = encoder.Pool(lastHidden);
            using var dropped = _dropout.call(pooled);
            return _classifier.call(dropped);
        }
    }

    /// <summary>RoBERTa and ELECTRA: <c>out_proj(dropout(act(dense(dropout(hidden[:, 0])))))</c>.</summary>
    private sealed class DenseHead : ClassificationHead
    {
        private readonly Dropout _dropout;
        private readonly Linear _dense, _outProj;
        private readonly string _act;

        public DenseHead(TransformerConfig c, int classes, string act)
        {
            _act = act;
            _dropout = Dropout(c.ClassifierDropout ?? c.HiddenDropoutProb);
            _dense = Linear(c.HiddenSize, c.HiddenSize);
            _outProj = Linear(c.HiddenSize, classes);
            var classifier = new TransformerEncoder.Container();
            classifier.Add("dense", _dense);
            classifier.Add("out_proj", _outProj);
            classifier.Add("dropout", _dropout);
            Add("classifier", classifier);
        }

        public override string ClassifierWeightName => "classifier.out_proj.weight";

        public override Tensor Forward(Tensor lastHidden, TransformerEncoder encoder)
        {
            using var scope = torch.NewDisposeScope();
            var first = _dropout.call(lastHidden.select(1, 0));
            var dense = _dropout.call(TransformerEncoder.Activate(_act, _dense.call(first)));
            return _outProj.call(dense).MoveToOuterDisposeScope();
        }
    }

    /// <summary>DistilBERT: <c>classifier(dropout(relu(pre_classifier(hidden[:, 0]))))</c>.</summary>
    private sealed class DistilBertHead : ClassificationHead
    {
        private readonly Linear _pre, _classifier;
        private readonly Dropout _dropout;

        public DistilBertHead(TransformerConfig c, int classes)
        {
            _pre = Linear(c.HiddenSize, c.HiddenSize);
            _classifier = Linear(c.HiddenSize, classes);
            _dropout = Dropout(c.SeqClassifDropout);
            Add("pre_classifier", _pre);
            Add("classifier", _classifier);
            Add("dropout", _dropout);
        }

        public override string ClassifierWeightName => "classifier.weight";

        public override Tensor Forward(Tensor lastHidden, TransformerEncoder encoder)
        {
            using var scope = torch.NewDisposeScope();
            var pre = functional.relu(_pre.call(lastHidden.select(1, 0)));
            return _classifier.call(_dropout.call(pre)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>DeBERTa: <c>classifier(dropout(act(pooler.dense(dropout(hidden[:, 0])))))</c>.</summary>
    private sealed class ContextPoolerHead : ClassificationHead
    {
        private readonly Linear _dense, _classifier;
        private readonly Dropout _poolerDropout, _dropout;
        private readonly string _act;

        public ContextPoolerHead(TransformerConfig c, int classes)
        {
            int width = c.PoolerHiddenSize ?? c.HiddenSize;
            _act = c.PoolerHiddenAct;
            _dense = Linear(width, width);
            _poolerDropout = Dropout(c.PoolerDropout);
            var pooler = new TransformerEncoder.Container();
            pooler.Add("dense", _dense);
            pooler.Add("dropout", _poolerDropout);
            _classifier = Linear(c.HiddenSize, classes);
            _dropout = Dropout(c.ClsDropout ?? c.HiddenDropoutProb);
            Add("pooler", pooler);
            Add("classifier", _classifier);
            Add("dropout", _dropout);
        }

        public override string ClassifierWeightName => "classifier.weight";

        public override Tensor Forward(Tensor lastHidden, TransformerEncoder encoder)
        {
            using var scope = torch.NewDisposeScope();
            var pooled = TransformerEncoder.Activate(_act, _dense.call(_poolerDropout.call(lastHidden.select(1, 0))));
            return _classifier.call(_dropout.call(pooled)).MoveToOuterDisposeScope();
        }
    }

    /// <summary>Question answering: <c>qa_outputs(hidden)</c>, <c>[batch, seq, 2]</c> (start, end); DistilBERT drops out
    /// the hidden states first.</summary>
    private sealed class SpanHead : ClassificationHead
    {
        private readonly Linear _qaOutputs;
        private readonly Dropout? _dropout;

        public SpanHead(TransformerConfig c)
        {
            _qaOutputs = Linear(c.HiddenSize, 2);
            Add("qa_outputs", _qaOutputs);
            if (c.Family == TransformerFamily.DistilBert)
            {
                _dropout = Dropout(c.QaDropout);
                Add("dropout", _dropout);
            }
        }

        public override string ClassifierWeightName => "qa_outputs.weight";

        public override Tensor Forward(Tensor lastHidden, TransformerEncoder encoder)
        {
            if (_dropout is null)
            {
                return _qaOutputs.call(lastHidden);
            }
            using var dropped = _dropout.call(lastHidden);
            return _qaOutputs.call(dropped);
        }
    }
}
