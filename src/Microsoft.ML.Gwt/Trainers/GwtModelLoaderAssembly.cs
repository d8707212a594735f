using Microsoft.ML.Gwt.Core.Interop;
using System.Runtime.CompilerServices;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>The loader assembly of <see cref="GwtTextClassificationTransformer"/> (see <see cref="ModelLoaderAssembly"/>),
/// installed when this assembly is first used and by <see cref="GwtModelLoader.Register"/>, which executables that
/// reference the package call before <c>Main</c>.</summary>
internal static class GwtModelLoaderAssembly
{
    /// <summary>The loader assembly name written into the TorchSharp classifier's model files.</summary>
    public const string Name = "Microsoft.ML.Gwt.ModelLoaders";

    /// <summary>The loader.</summary>
    public static ModelLoaderAssembly Instance { get; } = new(Name, typeof(GwtTextClassificationTransformer),
        nameof(GwtTextClassificationTransformer.CreateFromModelContext), "GWT text classification", GwtTextClassificationTransformer.LoaderSignature);

#pragma warning disable CA2255 // Installing the resolver before any model load is the point.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install() => Instance.Install();
}
