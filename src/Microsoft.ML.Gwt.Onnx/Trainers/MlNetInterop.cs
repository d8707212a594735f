using System.Reflection;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// The bridge to ML.NET's model persistence. ML.NET 5 keeps <c>ModelSaveContext</c>'s writers, <c>ModelLoadContext</c>,
/// <c>VersionInfo</c> and <c>LoadableClass</c> internal (only its own assemblies use them), so a third-party transformer
/// reaches them through reflection, pinned to the ML.NET version this package references and covered by tests.
/// </summary>
internal static class MlNetInterop
{
    private static readonly Assembly Core = typeof(ModelSaveContext).Assembly;
    private static readonly Type VersionInfoType = Core.GetType("Microsoft.ML.VersionInfo", throwOnError: true)!;
    private static readonly Type LoadContextType = Core.GetType("Microsoft.ML.ModelLoadContext", throwOnError: true)!;

    /// <summary>Registers a transformer's loader in <paramref name="env"/>'s component catalog. Model loading does this
    /// by itself through <see cref="ModelLoaderAssembly"/>; registering up front is harmless (ML.NET skips an assembly it has seen).</summary>
    public static void RegisterLoaders(IHostEnvironment env, ModelLoaderAssembly loader)
    {
        ArgumentNullException.ThrowIfNull(env);
        MlNetVersionGuard.EnsureSupported();
        loader.Install();
        env.ComponentCatalog.RegisterAssembly(loader.Assembly);
    }

    /// <summary>Starts a model entry: <c>ctx.CheckAtModel(); ctx.SetVersionInfo(...)</c>; returns <c>ctx.Writer</c>.</summary>
    public static BinaryWriter BeginSave(ModelSaveContext ctx, string modelSignature, uint version, string loaderSignature, ModelLoaderAssembly loader)
    {
        ArgumentNullException.ThrowIfNull(ctx);
        MlNetVersionGuard.EnsureSupported();
        Invoke(ctx, "CheckAtModel");
        Invoke(ctx, "SetVersionInfo", CreateVersionInfo(modelSignature, version, loaderSignature, loader.Name));
        return (BinaryWriter)Member(ctx, "Writer");
    }

    /// <summary><c>ctx.SaveBinaryStream(name, action)</c>: a named stream inside the model file.</summary>
    public static void SaveBinaryStream(ModelSaveContext ctx, string name, Action<BinaryWriter> action) =>
        Invoke(ctx, "SaveBinaryStream", name, action);

    /// <summary>Checks the entry's version header and returns <c>ctx.Reader</c>; <paramref name="entry"/> names the
    /// entry in messages (e.g. "GWT").</summary>
    /// <exception cref="InvalidDataException">The header cannot be read (the message names the entry), or it is of an older format.</exception>
    public static BinaryReader BeginLoad(object ctx, string modelSignature, uint version, string loaderSignature, ModelLoaderAssembly loader, string entry)
    {
        MlNetVersionGuard.EnsureSupported();
        if (ctx is null || !LoadContextType.IsInstanceOfType(ctx))
        {
            throw new ArgumentException("Expected ML.NET's ModelLoadContext.", nameof(ctx));
        }
        try
        {
            CheckNotOlder(ctx, modelSignature, version);
            Invoke(ctx, "CheckAtModel", CreateVersionInfo(modelSignature, version, loaderSignature, loader.Name));
        }
        catch (FormatException ex)
        {
            throw new InvalidDataException($"The model file is damaged: the header of its {entry} entry cannot be read ({ex.Message}).", ex);
        }
        return (BinaryReader)Member(ctx, "Reader");
    }

    /// <summary>ML.NET's own message for an entry of an older format talks about ML.NET versions; ours says what to do.</summary>
    private static void CheckNotOlder(object ctx, string modelSignature, uint version)
    {
        var header = Member(ctx, "Header");
        var type = header.GetType();
        ulong signature = (ulong)(type.GetField("ModelSignature")?.GetValue(header) ?? throw new MissingFieldException(type.FullName, "ModelSignature"));
        uint written = (uint)(type.GetField("ModelVerWritten")?.GetValue(header) ?? throw new MissingFieldException(type.FullName, "ModelVerWritten"));
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
        (bool)Invoke(ctx, "TryLoadBinaryStream", name, action)!;

    /// <summary>
    /// ML.NET's internal <c>ICancelable.IsCanceled</c>, the flag <c>mlContext.CancelExecution()</c> sets on every host of
    /// the context. Resolved once; null only if ML.NET no longer has it (CancellationTests fails then).
    /// </summary>
    internal static readonly PropertyInfo? CancelFlag =
        Core.GetType("Microsoft.ML.Runtime.ICancelable", throwOnError: false)?.GetProperty("IsCanceled");

    /// <summary>
    /// Throws <see cref="OperationCanceledException"/> when <paramref name="token"/> is cancelled or
    /// <c>mlContext.CancelExecution()</c> was called on the environment behind <paramref name="host"/>.
    /// </summary>
    public static void ThrowIfCancelled(IHost host, CancellationToken token)
    {
        token.ThrowIfCancellationRequested();
        if (CancelFlag is not null && CancelFlag.DeclaringType!.IsInstanceOfType(host) && CancelFlag.GetValue(host) is true)
        {
            throw new OperationCanceledException("Operation was cancelled (mlContext.CancelExecution()).");
        }
    }

    /// <summary><c>new SchemaShape.Column(name, kind, itemType, isKey)</c> (the constructor is internal).</summary>
    public static SchemaShape.Column ShapeColumn(string name, SchemaShape.Column.VectorKind kind, Microsoft.ML.Data.DataViewType itemType, bool isKey,
        SchemaShape? annotations = null)
    {
        var ctor = typeof(SchemaShape.Column).GetConstructors(BindingFlags.NonPublic | BindingFlags.Public | BindingFlags.Instance)
            .OrderByDescending(c => c.GetParameters().Length).First();
        var args = new object?[ctor.GetParameters().Length];
        args[0] = name;
        args[1] = kind;
        args[2] = itemType;
        args[3] = isKey;
        if (args.Length > 4)
        {
            args[4] = annotations;
        }
        return (SchemaShape.Column)ctor.Invoke(args);
    }

    private static object CreateVersionInfo(string modelSignature, uint version, string loaderSignature, string loaderAssembly) =>
        Activator.CreateInstance(VersionInfoType, BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, null,
            new object?[] { modelSignature, version, version, version, loaderAssembly, loaderSignature, null }, null)!;

    private static object? Invoke(object target, string name, params object[] args)
    {
        var types = args.Select(a => a.GetType()).ToArray();
        var method = target.GetType().GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance)
            .FirstOrDefault(m => m.Name == name && m.GetParameters().Length == args.Length &&
                m.GetParameters().Zip(types).All(p => p.First.ParameterType.IsAssignableFrom(p.Second)))
            ?? throw new MissingMethodException(target.GetType().FullName, name);
        try
        {
            return method.Invoke(target, args);
        }
        catch (TargetInvocationException ex) when (ex.InnerException is not null)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
            throw;
        }
    }

    private static object Member(object target, string name)
    {
        const BindingFlags flags = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
        var t = target.GetType();
        return t.GetField(name, flags)?.GetValue(target) ?? t.GetProperty(name, flags)?.GetValue(target)
            ?? throw new MissingMemberException(t.FullName, name);
    }
}
