using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;
using static TorchSharp.torch.nn;
using Microsoft.ML.Gwt.Core.Modeling;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>
/// The modules of one post-LayerNorm transformer layer as BERT and DistilBERT have them: query, key, value and attention
/// output projections, the attention LayerNorm, the feed-forward pair, the output LayerNorm and the two dropouts. Created
/// in this order (the order the random initialization draws in); each family registers them under its own Hugging Face
/// names and writes its own forward pass.
/// </summary>
internal sealed record PostNormLayerParts(
    Linear Query, Linear Key, Linear Value, Linear AttentionOut, LayerNorm AttentionNorm,
    Linear Intermediate, Linear Output, LayerNorm OutputNorm, Dropout AttentionDropout, Dropout HiddenDropout,
    int Heads, int HeadSize, string Activation)
{
    /// <summary>The modules for <paramref name="c"/> (arguments are evaluated, so modules created, left to right).</summary>
    public static PostNormLayerParts Create(TransformerConfig c) => new(
        Linear(c.HiddenSize, c.HiddenSize), Linear(c.HiddenSize, c.HiddenSize), Linear(c.HiddenSize, c.HiddenSize),
        Linear(c.HiddenSize, c.HiddenSize), LayerNorm(c.HiddenSize, c.LayerNormEps),
        Linear(c.HiddenSize, c.IntermediateSize), Linear(c.IntermediateSize, c.HiddenSize), LayerNorm(c.HiddenSize, c.LayerNormEps),
        Dropout(c.AttentionProbsDropoutProb), Dropout(c.HiddenDropoutProb),
        c.NumAttentionHeads, c.HiddenSize / c.NumAttentionHeads, c.HiddenAct);

    /// <summary><paramref name="proj"/>(<paramref name="hidden"/>) split into heads: <c>[batch, heads, tokens, head size]</c>.</summary>
    public Tensor SplitHeads(Linear proj, Tensor hidden) =>
        proj.call(hidden).view(hidden.shape[0], hidden.shape[1], Heads, HeadSize).transpose(1, 2);

    /// <summary>Attention probabilities times values, heads merged back: <c>[batch, tokens, hidden]</c>.</summary>
    public Tensor MergeHeads(Tensor probs, Tensor values) =>
        torch.matmul(probs, values).transpose(1, 2).reshape(probs.shape[0], probs.shape[2], Heads * HeadSize);
}
