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
    /// <exception cref="NotSupportedException">The process loaded another Microsoft.ML than the supported 5.0.1.</exception>
    public static void Register()
    {
        MlNetVersionGuard.EnsureSupported();
        ModelLoaderAssembly.Install();
    }

    /// <summary>Whether <see cref="Register"/> (or the assembly's own initializer) has installed the resolver.</summary>
    public static bool IsRegistered => ModelLoaderAssembly.IsInstalled;
}
