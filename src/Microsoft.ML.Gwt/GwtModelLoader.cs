using Microsoft.ML.Gwt.Core.Interop;
using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Trainers;

namespace Microsoft.ML.Gwt;

/// <summary>
/// Makes <c>mlContext.Model.Load</c> able to load GWT models in every <see cref="MLContext"/> of the process, with no
/// per-context registration.
/// </summary>
/// <remarks>
/// Executables that reference the Microsoft.ML.Gwt package call <see cref="Register"/> before <c>Main</c> (a module
/// initializer from the package's <c>buildTransitive</c> targets; the MSBuild property <c>GwtModelLoaderBootstrap</c> set
/// to <c>false</c> leaves it out). It also runs the first time any Microsoft.ML.Gwt type is used. Call it yourself when
/// neither applies: for example a plug-in that loads a saved model before touching any Microsoft.ML.Gwt type.
/// </remarks>
public static class GwtModelLoader
{
    /// <summary>Installs the resolver that lets ML.NET find our model loader. Safe to call many times, from many threads.</summary>
    /// <exception cref="NotSupportedException">The process loaded a Microsoft.ML of another line than the supported 5.0.x and 6.0.x.</exception>
    public static void Register()
    {
        MlNetVersionGuard.EnsureSupported();
        GwtModelLoaderAssembly.Install();
    }

    /// <summary>Whether <see cref="Register"/> (or the assembly's own initializer) has installed the resolver.</summary>
    public static bool IsRegistered => GwtModelLoaderAssembly.Instance.IsInstalled && GwtModelLoaderAssembly.SentenceSimilarity.IsInstalled
        && GwtModelLoaderAssembly.NamedEntityRecognition.IsInstalled;
    /// <summary>
    /// Loads a saved model like <c>mlContext.Model.Load(stream, out inputSchema)</c>, but an error raised while loading
    /// one of the model's components reaches the caller as that component's own exception.
    /// </summary>
    /// <remarks>
    /// ML.NET creates every model component by reflection (<c>MethodInfo.Invoke</c> in its component catalog), so from
    /// <c>mlContext.Model.Load</c> an error of our loader, such as the <see cref="InvalidDataException"/> for a damaged
    /// file, arrives inside two <see cref="TargetInvocationException"/>s (the transformer chain's loader, then ours).
    /// This method removes exactly those reflection layers and rethrows what is inside with its original stack trace.
    /// </remarks>
    /// <exception cref="InvalidDataException">A part of a GWT model in the file is damaged; the message names it.</exception>
    public static ITransformer Load(MLContext mlContext, Stream stream, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(mlContext);
        ArgumentNullException.ThrowIfNull(stream);
        try
        {
            return mlContext.Model.Load(stream, out inputSchema);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            throw Unwrapped(ex);
        }
    }

    /// <summary>Loads the model file at <paramref name="filePath"/>; see <see cref="Load(MLContext, Stream, out DataViewSchema)"/>.</summary>
    /// <exception cref="FileNotFoundException">No file at <paramref name="filePath"/>.</exception>
    public static ITransformer Load(MLContext mlContext, string filePath, out DataViewSchema inputSchema)
    {
        ArgumentNullException.ThrowIfNull(filePath);
        if (!File.Exists(filePath))
            throw new FileNotFoundException($"No model file at '{filePath}'.", filePath);
        using var stream = File.OpenRead(filePath);
        return Load(mlContext, stream, out inputSchema);
    }

    /// <summary>The innermost exception below a chain of reflection wrappers, rethrown with its own stack trace.</summary>
    private static Exception Unwrapped(TargetInvocationException ex)
    {
        Exception inner = ex;
        while (inner is TargetInvocationException { InnerException: { } next })
            inner = next;
        ExceptionDispatchInfo.Capture(inner).Throw();
        return inner; // not reached
    }
}
