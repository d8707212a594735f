using System.Reflection;
using System.Reflection.Emit;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Core.Interop;

/// <summary>
/// Lets <c>mlContext.Model.Load</c> create one of our transformers in any MLContext, with no registration call.
/// </summary>
/// <remarks>
/// ML.NET finds a model's loader by the assembly name stored in the model file: it calls <c>Assembly.Load(name)</c> and
/// scans that assembly for its internal <c>[LoadableClass]</c> attribute, which a third-party assembly cannot carry. Our
/// model files name <see cref="Name"/>, an assembly that exists nowhere on disk. When ML.NET asks for it, the resolver
/// that <see cref="Install"/> adds builds it in memory: one <c>[LoadableClass]</c> attribute, and a loader whose
/// <c>Create(IHostEnvironment, ModelLoadContext)</c> forwards to the transformer's own static factory. Each transformer
/// kind has one instance (the TorchSharp classifier in Microsoft.ML.Gwt, the ONNX Runtime classifier here), installed by
/// a module initializer of the assembly that defines the transformer.
/// </remarks>
public sealed class ModelLoaderAssembly
{
    private readonly Type _transformer;
    private readonly string _factory, _userName, _loaderSignature;
    private readonly Lazy<Assembly> _built;
    private int _installed;

    /// <param name="name">The loader assembly name written into model files.</param>
    /// <param name="transformer">The transformer type the loader creates.</param>
    /// <param name="factory">The name of its static <c>(IHostEnvironment env, object ctx)</c> factory.</param>
    /// <param name="userName">ML.NET's user-visible name of the component.</param>
    /// <param name="loaderSignature">The loader signature written into model files.</param>
    public ModelLoaderAssembly(string name, Type transformer, string factory, string userName, string loaderSignature)
    {
        Name = name;
        _transformer = transformer;
        _factory = factory;
        _userName = userName;
        _loaderSignature = loaderSignature;
        _built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);
    }

    /// <summary>The loader assembly name written into model files.</summary>
    public string Name { get; }

    /// <summary>Adds the resolver that builds the loader assembly when ML.NET asks for <see cref="Name"/> (once).</summary>
    public void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            AppDomain.CurrentDomain.AssemblyResolve += (_, e) => new AssemblyName(e.Name).Name == Name ? _built.Value : null;
        }
    }

    /// <summary>Whether <see cref="Install"/> has run in this process.</summary>
    public bool IsInstalled => Volatile.Read(ref _installed) == 1;

    /// <summary>The in-memory loader assembly (built once).</summary>
    public Assembly Assembly => _built.Value;

    private Assembly Build()
    {
        var ml = MlNetBindings.Current;
        var core = typeof(ModelSaveContext).Assembly;

        var assembly = AssemblyBuilder.DefineDynamicAssembly(new AssemblyName(Name), AssemblyBuilderAccess.Run);
        var module = assembly.DefineDynamicModule(Name);

        // [assembly: IgnoresAccessChecksTo(...)]: the runtime lets this assembly use ML.NET's and our internal members.
        var ignores = module.DefineType("System.Runtime.CompilerServices.IgnoresAccessChecksToAttribute",
            TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Class, typeof(Attribute));
        var ignoresCtor = ignores.DefineConstructor(MethodAttributes.Public, CallingConventions.Standard, new[] { typeof(string) });
        var ctorIl = ignoresCtor.GetILGenerator();
        ctorIl.Emit(OpCodes.Ldarg_0);
        ctorIl.Emit(OpCodes.Call, typeof(Attribute).GetConstructor(BindingFlags.NonPublic | BindingFlags.Instance, Type.EmptyTypes)!);
        ctorIl.Emit(OpCodes.Ret);
        var ignoresType = ignores.CreateType();
        foreach (var target in new[] { core.GetName().Name!, _transformer.Assembly.GetName().Name! })
        {
            assembly.SetCustomAttribute(new CustomAttributeBuilder(ignoresType.GetConstructor(new[] { typeof(string) })!, new object[] { target }));
        }

        // public static TTransformer Create(IHostEnvironment env, ModelLoadContext ctx) => TTransformer.<factory>(env, ctx);
        var loader = module.DefineType($"Microsoft.ML.Gwt.ModelLoaders.{_transformer.Name}Loader",
            TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Abstract | TypeAttributes.Class);
        var create = loader.DefineMethod("Create", MethodAttributes.Public | MethodAttributes.Static,
            _transformer, new[] { typeof(IHostEnvironment), ml.ModelLoadContext });
        var il = create.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, _transformer.GetMethod(_factory, BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)
            ?? throw new MissingMethodException(_transformer.FullName, _factory));
        il.Emit(OpCodes.Ret);
        var loaderType = loader.CreateType();

        // [assembly: LoadableClass(typeof(TTransformer), loader, null, typeof(SignatureLoadModel), userName, loaderSignature)]
        assembly.SetCustomAttribute(new CustomAttributeBuilder(ml.LoadableClassConstructor, new object?[]
        {
            _transformer, loaderType, null, ml.SignatureLoadModel, _userName, new[] { _loaderSignature },
        }));
        return assembly;
    }
}
