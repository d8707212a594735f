using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Interop;

/// <summary>
/// The bridge to ML.NET's internals: model persistence (<c>ModelSaveContext</c>'s writers, <c>ModelLoadContext</c>,
/// <c>VersionInfo</c>), <c>mlContext.CancelExecution()</c>, a catalog's environment and <c>SchemaShape.Column</c>. ML.NET
/// keeps them internal (only its own assemblies use them), so a third-party transformer reaches them through reflection:
/// every member is bound once, by its full signature, in <see cref="MlNetBindings"/>, behind <see cref="MlNetVersionGuard"/>.
/// </summary>
public static class MlNetInterop
{
    /// <summary>Registers a transformer's loader in <paramref name="env"/>'s component catalog. Model loading does this
    /// by itself through <see cref="ModelLoaderAssembly"/>; registering up front is harmless (ML.NET skips an assembly it has seen).</summary>
    public static void RegisterLoaders(IHostEnvironment env, ModelLoaderAssembly loader)
    {
        ArgumentNullException.ThrowIfNull(env);
        _ = MlNetBindings.Current;
        loader.Install();
        env.ComponentCatalog.RegisterAssembly(loader.Assembly);
    }

    /// <summary>Starts a model entry: <c>ctx.CheckAtModel(); ctx.SetVersionInfo(...)</c>; returns <c>ctx.Writer</c>.</summary>
    public static BinaryWriter BeginSave(ModelSaveContext ctx, string modelSignature, uint version, string loaderSignature, ModelLoaderAssembly loader)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        var ml = MlNetBindings.Current;
        Invoke(ml.SaveCheckAtModel, ctx);
        Invoke(ml.SaveSetVersionInfo, ctx, CreateVersionInfo(ml, modelSignature, version, loaderSignature, loader.Name));
        return (BinaryWriter)ml.SaveWriter.GetValue(ctx)!;
    }

    /// <summary><c>ctx.SaveBinaryStream(name, action)</c>: a named stream inside the model file.</summary>
    public static void SaveBinaryStream(ModelSaveContext ctx, string name, Action<BinaryWriter> action) =>
        Invoke(MlNetBindings.Current.SaveBinaryStream, ctx, name, action);

    /// <summary>Checks the entry's version header and returns <c>ctx.Reader</c>; <paramref name="entry"/> names the
    /// entry in messages (e.g. "GWT").</summary>
    /// <exception cref="InvalidDataException">The header cannot be read (the message names the entry), or it is of an older format.</exception>
    public static BinaryReader BeginLoad(object ctx, string modelSignature, uint version, string loaderSignature, ModelLoaderAssembly loader, string entry)
    {
        var ml = MlNetBindings.Current;
        if (ctx is null || !ml.ModelLoadContext.IsInstanceOfType(ctx))
        {
            throw new ArgumentException("Expected ML.NET's ModelLoadContext.", nameof(ctx));
        }
        try
        {
            CheckNotOlder(ml, ctx, modelSignature, version);
            Invoke(ml.LoadCheckAtModel, ctx, CreateVersionInfo(ml, modelSignature, version, loaderSignature, loader.Name));
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"The model file is damaged: the header of its {entry} entry cannot be read ({ex.Message}).", ex);
        }
        return (BinaryReader)ml.LoadReader.GetValue(ctx)!;
    }

    /// <summary>ML.NET's own message for an entry of an older format talks about ML.NET versions; ours says what to do.</summary>
    private static void CheckNotOlder(MlNetBindings ml, object ctx, string modelSignature, uint version)
    {
        var header = ml.LoadHeader.GetValue(ctx)!;
        ulong signature = (ulong)ml.HeaderModelSignature.GetValue(header)!;
        uint written = (uint)ml.HeaderModelVerWritten.GetValue(header)!;
        ulong ours = 0;
        for (int i = 0; i < modelSignature.Length && i < 8; i++)
        {
            ours |= (ulong)(byte)modelSignature[i] << (8 * i);
        }
        if (signature == ours && written < version)
        {
            throw new InvalidDataException(
                $"The model file was saved by an older Microsoft.ML.Gwt (model format 0x{written:X8}); this version reads format 0x{version:X8} " +
                "(checksummed parts, label values of any type, saved device). Train and save the model again with this version.");
        }
    }

    /// <summary><c>ctx.TryLoadBinaryStream(name, action)</c>.</summary>
    public static bool TryLoadBinaryStream(object ctx, string name, Action<BinaryReader> action) =>
        (bool)Invoke(MlNetBindings.Current.TryLoadBinaryStream, ctx, name, action)!;

    /// <summary>
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="token"/> is cancelled or
    /// <c>mlContext.CancelExecution()</c> was called on the environment behind <paramref name="host"/>.
    /// </summary>
    public static void ThrowIfCancelled(IHost host, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        var isCanceled = MlNetBindings.Current.IsCanceled;
        if (isCanceled.DeclaringType!.IsInstanceOfType(host) && isCanceled.GetValue(host) is true)
        {
            throw new OperationCanceledException("Operation was cancelled (mlContext.CancelExecution()).");
        }
    }

    /// <summary>The environment (the MLContext) behind one of ML.NET's catalogs: its internal <c>IInternalCatalog.Environment</c>.</summary>
    /// <exception cref="ArgumentException">The catalog does not implement <c>IInternalCatalog</c>.</exception>
    public static IHostEnvironment EnvironmentOf(object catalog, string paramName)
    {
        ArgumentNullException.ThrowIfNull(catalog, paramName);
        var environment = MlNetBindings.Current.CatalogEnvironment;
        return environment.DeclaringType!.IsInstanceOfType(catalog) && environment.GetValue(catalog) is IHostEnvironment env ? env
            : throw new ArgumentException($"{catalog.GetType().Name} is not one of ML.NET's catalogs: it has no MLContext behind it.", paramName);
    }

    /// <summary><c>new SchemaShape.Column(name, kind, itemType, isKey, annotations)</c> (the constructor is internal).</summary>
    public static SchemaShape.Column ShapeColumn(string name, SchemaShape.Column.VectorKind kind, Microsoft.ML.Data.DataViewType itemType, bool isKey,
        SchemaShape? annotations = null) =>
        (SchemaShape.Column)Invoke(MlNetBindings.Current.SchemaShapeColumnConstructor, name, kind, itemType, isKey, annotations)!;

    private static object CreateVersionInfo(MlNetBindings ml, string modelSignature, uint version, string loaderSignature, string loaderAssembly) =>
        Invoke(ml.VersionInfoConstructor, modelSignature, version, version, version, loaderAssembly, loaderSignature, null)!;

    private static object? Invoke(MethodInfo method, object target, params object?[] args) => Unwrap(() => method.Invoke(target, args));

    private static object? Invoke(ConstructorInfo constructor, params object?[] args) => Unwrap(() => constructor.Invoke(args));

    /// <summary>Runs a reflective call; an exception thrown by the member itself reaches the caller as it was thrown.</summary>
    private static object? Unwrap(Func<object?> call)
    {
        try
        {
            return call();
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }
}
