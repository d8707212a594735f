using Microsoft.ML.Gwt.Optim;
using TorchSharp;
using static TorchSharp.torch;
using TorchSharp.Modules;

namespace Microsoft.ML.Gwt.Training;

/// <summary>The optimizer of a run: GWT-Adam over the selected parameters, AdamW with weight decay over the other
/// weight matrices, and AdamW without weight decay over biases and LayerNorm parameters.</summary>
internal static class OptimizerGroups
{
    /// <summary>Builds the optimizer for <paramref name="model"/>'s trainable parameters; <paramref name="targets"/>
    /// gets the names of the GWT-compressed ones.</summary>
    public static GwtAdam Create(nn.Module model, Func<string, Parameter, bool> selector, GwtAdamOptions defaults, out List<string> targets)
    {
        var named = model.named_parameters().Where(p => p.parameter.requires_grad).Select(p => (p.name, p.parameter, targeted: selector(p.name, p.parameter))).ToList();
        targets = named.Where(p => p.targeted).Select(p => p.name).ToList();
        var targeted = named.Where(p => p.targeted).Select(p => p.parameter).ToList();
        var decayed = named.Where(p => !p.targeted && p.parameter.dim() >= 2).Select(p => p.parameter).ToList();
        var plain = named.Where(p => !p.targeted && p.parameter.dim() < 2).Select(p => p.parameter).ToList();
        var groups = new List<GwtAdamParamGroup>();
        if (targeted.Count > 0)
        {
            groups.Add(new GwtAdamParamGroup(targeted, new GwtAdamOptions { Gwt = true }));
        }
        if (decayed.Count > 0)
        {
            groups.Add(new GwtAdamParamGroup(decayed, new GwtAdamOptions { Gwt = false }));
        }
        if (plain.Count > 0)
        {
            groups.Add(new GwtAdamParamGroup(plain, new GwtAdamOptions { Gwt = false, WeightDecay = 0 }));
        }
        return new GwtAdam(groups, defaults);
    }
}
