using System.Reflection;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Interop;

/// <summary>
/// Every internal member of ML.NET that this library uses, each bound by its full signature (name, parameter types,
/// return or field type) once per process, after <see cref="MlNetVersionGuard"/>. A member that a release renamed,
/// re-typed or removed fails here, naming it, instead of being matched loosely (by name, by parameter count) or coming
/// back null. <c>MlNetBindingsTests</c> binds them all on each ML.NET line that <c>.ci/run</c> tests.
/// </summary>
internal sealed class MlNetBindings
{
    private const BindingFlags Instance = BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance;
    private static readonly Lazy<MlNetBindings> Bound = new(() => new MlNetBindings(), LazyThreadSafetyMode.ExecutionAndPublication);
    private readonly List<(string Signature, MemberInfo Member)> _all = new();

    /// <summary>The bindings for the loaded ML.NET; throws <see cref="NotSupportedException"/> on an unsupported line.</summary>
    public static MlNetBindings Current
    {
        get
        {
            MlNetVersionGuard.EnsureSupported();
            return Bound.Value;
        }
    }

    private MlNetBindings()
    {
        var core = typeof(ModelSaveContext).Assembly;
        var data = typeof(MLContext).Assembly;
        ModelLoadContext = RequireType(core, "Microsoft.ML.ModelLoadContext");
        VersionInfo = RequireType(core, "Microsoft.ML.VersionInfo");
        LoadableClassAttribute = RequireType(core, "Microsoft.ML.LoadableClassAttribute");
        SignatureLoadModel = RequireType(core, "Microsoft.ML.SignatureLoadModel");
        var header = RequireType(core, "Microsoft.ML.ModelHeader");
        var cancelable = RequireType(core, "Microsoft.ML.Runtime.ICancelable");
        var internalCatalog = RequireType(data, "Microsoft.ML.Data.IInternalCatalog");

        VersionInfoConstructor = Constructor(VersionInfo,
            typeof(string), typeof(uint), typeof(uint), typeof(uint), typeof(string), typeof(string), typeof(string));
        SaveCheckAtModel = Method(typeof(ModelSaveContext), "CheckAtModel", typeof(void));
        SaveSetVersionInfo = Method(typeof(ModelSaveContext), "SetVersionInfo", typeof(void), VersionInfo);
        SaveWriter = Field(typeof(ModelSaveContext), "Writer", typeof(BinaryWriter));
        SaveBinaryStream = Method(typeof(ModelSaveContext), "SaveBinaryStream", typeof(void), typeof(string), typeof(Action<BinaryWriter>));
        LoadCheckAtModel = Method(ModelLoadContext, "CheckAtModel", typeof(void), VersionInfo);
        LoadReader = Field(ModelLoadContext, "Reader", typeof(BinaryReader));
        LoadHeader = Field(ModelLoadContext, "Header", header);
        TryLoadBinaryStream = Method(ModelLoadContext, "TryLoadBinaryStream", typeof(bool), typeof(string), typeof(Action<BinaryReader>));
        HeaderModelSignature = Field(header, "ModelSignature", typeof(ulong));
        HeaderModelVerWritten = Field(header, "ModelVerWritten", typeof(uint));
        IsCanceled = Property(cancelable, "IsCanceled", typeof(bool));
        CatalogEnvironment = Property(internalCatalog, "Environment", typeof(IHostEnvironment));
        SchemaShapeColumnConstructor = Constructor(typeof(SchemaShape.Column),
            typeof(string), typeof(SchemaShape.Column.VectorKind), typeof(DataViewType), typeof(bool), typeof(SchemaShape));
        LoadableClassConstructor = Constructor(LoadableClassAttribute,
            typeof(Type), typeof(Type), typeof(Type), typeof(Type), typeof(string), typeof(string[]));
    }

    /// <summary><c>Microsoft.ML.ModelLoadContext</c> (internal).</summary>
    public Type ModelLoadContext { get; }

    /// <summary><c>Microsoft.ML.VersionInfo</c> (internal struct).</summary>
    public Type VersionInfo { get; }

    /// <summary><c>Microsoft.ML.LoadableClassAttribute</c> (internal).</summary>
    public Type LoadableClassAttribute { get; }

    /// <summary><c>Microsoft.ML.SignatureLoadModel</c> (internal delegate type).</summary>
    public Type SignatureLoadModel { get; }

    /// <summary><c>VersionInfo(string modelSignature, uint verWrittenCur, uint verReadableCur, uint verWeCanReadBack,
    /// string loaderAssemblyName, string loaderSignature, string loaderSignatureAlt)</c>.</summary>
    public ConstructorInfo VersionInfoConstructor { get; }

    /// <summary><c>void ModelSaveContext.CheckAtModel()</c>.</summary>
    public MethodInfo SaveCheckAtModel { get; }

    /// <summary><c>void ModelSaveContext.SetVersionInfo(VersionInfo)</c>.</summary>
    public MethodInfo SaveSetVersionInfo { get; }

    /// <summary><c>BinaryWriter ModelSaveContext.Writer</c>.</summary>
    public FieldInfo SaveWriter { get; }

    /// <summary><c>void ModelSaveContext.SaveBinaryStream(string, Action&lt;BinaryWriter&gt;)</c>.</summary>
    public MethodInfo SaveBinaryStream { get; }

    /// <summary><c>void ModelLoadContext.CheckAtModel(VersionInfo)</c>.</summary>
    public MethodInfo LoadCheckAtModel { get; }

    /// <summary><c>BinaryReader ModelLoadContext.Reader</c>.</summary>
    public FieldInfo LoadReader { get; }

    /// <summary><c>ModelHeader ModelLoadContext.Header</c>.</summary>
    public FieldInfo LoadHeader { get; }

    /// <summary><c>bool ModelLoadContext.TryLoadBinaryStream(string, Action&lt;BinaryReader&gt;)</c>.</summary>
    public MethodInfo TryLoadBinaryStream { get; }

    /// <summary><c>ulong ModelHeader.ModelSignature</c>.</summary>
    public FieldInfo HeaderModelSignature { get; }

    /// <summary><c>uint ModelHeader.ModelVerWritten</c>.</summary>
    public FieldInfo HeaderModelVerWritten { get; }

    /// <summary><c>bool ICancelable.IsCanceled</c>: the flag <c>mlContext.CancelExecution()</c> sets on every host.</summary>
    public PropertyInfo IsCanceled { get; }

    /// <summary><c>IHostEnvironment IInternalCatalog.Environment</c>: the MLContext behind a catalog.</summary>
    public PropertyInfo CatalogEnvironment { get; }

    /// <summary><c>SchemaShape.Column(string, VectorKind, DataViewType, bool, SchemaShape)</c> (internal).</summary>
    public ConstructorInfo SchemaShapeColumnConstructor { get; }

    /// <summary><c>LoadableClassAttribute(Type instType, Type loaderType, Type argType, Type sigType, string userName,
    /// params string[] loadNames)</c>.</summary>
    public ConstructorInfo LoadableClassConstructor { get; }

    /// <summary>Every bound member with the signature it was bound by (for tests and diagnostics).</summary>
    public IReadOnlyList<(string Signature, MemberInfo Member)> All => _all;

    private Type RequireType(Assembly assembly, string fullName)
    {
        var type = assembly.GetType(fullName, throwOnError: false) ?? throw Missing($"type {fullName}", assembly);
        _all.Add((fullName, type));
        return type;
    }

    private ConstructorInfo Constructor(Type type, params Type[] parameters) =>
        Add($"{type.Name}({Names(parameters)})", type.GetConstructor(Instance, null, parameters, null), type);

    private MethodInfo Method(Type type, string name, Type returns, params Type[] parameters) =>
        Add($"{returns.Name} {type.Name}.{name}({Names(parameters)})", FindMethod(type, name, returns, parameters), type);

    private FieldInfo Field(Type type, string name, Type fieldType) =>
        Add($"{fieldType.Name} {type.Name}.{name}", FindField(type, name, fieldType), type);

    private PropertyInfo Property(Type type, string name, Type propertyType) =>
        Add($"{propertyType.Name} {type.Name}.{name}", FindProperty(type, name, propertyType), type);

    /// <summary>The instance method with exactly these parameter types and this return type, or null.</summary>
    internal static MethodInfo? FindMethod(Type type, string name, Type returns, params Type[] parameters)
    {
        var method = type.GetMethod(name, Instance, null, parameters, null);
        return method?.ReturnType == returns ? method : null;
    }

    /// <summary>The instance field of exactly this type, or null.</summary>
    internal static FieldInfo? FindField(Type type, string name, Type fieldType)
    {
        var field = type.GetField(name, Instance);
        return field?.FieldType == fieldType ? field : null;
    }

    /// <summary>The readable instance property of exactly this type, or null.</summary>
    internal static PropertyInfo? FindProperty(Type type, string name, Type propertyType)
    {
        var property = type.GetProperty(name, Instance, null, propertyType, Type.EmptyTypes, null);
        return property?.GetMethod is not null ? property : null;
    }

    private T Add<T>(string signature, T? member, Type owner) where T : MemberInfo
    {
        if (member is null)
        {
            throw Missing(signature, owner.Assembly);
        }
        _all.Add((signature, member));
        return member;
    }

    private static string Names(Type[] types) => string.Join(", ", types.Select(t => t.Name));

    private static MissingMemberException Missing(string what, Assembly assembly) => new(
        $"Microsoft.ML.Gwt could not find {what} in {assembly.GetName().Name} " +
        $"{assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion}: this ML.NET release changed an " +
        $"internal API that Microsoft.ML.Gwt uses. Reference Microsoft.ML {MlNetVersionGuard.SupportedText}.");
}
