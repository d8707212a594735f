using System.Reflection;
using System.Reflection.Emit;
using System.Runtime.CompilerServices;
using Microsoft.ML.Runtime;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>
/// Lets <c>mlContext.Model.Load</c> create our transformer in any MLContext, with no registration call.
/// </summary>
/// <remarks>
/// ML.NET finds a model's loader by the assembly name stored in the model file: it calls <c>Assembly.Load(name)</c> and
/// scans that assembly for its internal <c>[LoadableClass]</c> attribute, which a third-party assembly cannot carry. Our
/// model files name <see cref="Name"/>, an assembly that exists nowhere on disk. When ML.NET asks for it, this resolver
/// builds it in memory: one <c>[LoadableClass]</c> attribute, and a loader whose
/// <c>Create(IHostEnvironment, ModelLoadContext)</c> forwards to
/// <see cref="GwtTextClassificationTransformer.CreateFromModelContext"/>. It is installed when this assembly is first
/// used, and by <see cref="GwtModelLoader.Register"/>, which executables that reference the package call before <c>Main</c>.
/// </remarks>
internal static class ModelLoaderAssembly
{
    /// <summary>The loader assembly name written into model files.</summary>
    public const string Name = "Microsoft.ML.Gwt.ModelLoaders";

    private static readonly Lazy<Assembly> Built = new(Build, LazyThreadSafetyMode.ExecutionAndPublication);
    private static int _installed;

#pragma warning disable CA2255 // Installing the resolver before any model load is the point.
    [ModuleInitializer]
#pragma warning restore CA2255
    internal static void Install()
    {
        if (Interlocked.Exchange(ref _installed, 1) == 0)
        {
            AppDomain.CurrentDomain.AssemblyResolve += (_, e) => new AssemblyName(e.Name).Name == Name ? Built.Value : null;
        }
    }

    /// <summary>Whether <see cref="Install"/> has run in this process.</summary>
    public static bool IsInstalled => Volatile.Read(ref _installed) == 1;

    /// <summary>The in-memory loader assembly (built once).</summary>
    public static Assembly Assembly => Built.Value;

    private static Assembly Build()
    {
        var core = typeof(ModelSaveContext).Assembly;
        var loadContext = core.GetType("Microsoft.ML.ModelLoadContext", throwOnError: true)!;
        var attrType = core.GetType("Microsoft.ML.LoadableClassAttribute", throwOnError: true)!;
        var sigType = core.GetType("Microsoft.ML.SignatureLoadModel", throwOnError: true)!;

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
        foreach (var target in new[] { core.GetName().Name!, typeof(ModelLoaderAssembly).Assembly.GetName().Name! })
        {
            assembly.SetCustomAttribute(new CustomAttributeBuilder(ignoresType.GetConstructor(new[] { typeof(string) })!, new object[] { target }));
        }

        // public static GwtTextClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
        var loader = module.DefineType("Microsoft.ML.Gwt.ModelLoaders.GwtTextClassificationLoader",
            TypeAttributes.Public | TypeAttributes.Sealed | TypeAttributes.Abstract | TypeAttributes.Class);
        var create = loader.DefineMethod("Create", MethodAttributes.Public | MethodAttributes.Static,
            typeof(GwtTextClassificationTransformer), new[] { typeof(IHostEnvironment), loadContext });
        var il = create.GetILGenerator();
        il.Emit(OpCodes.Ldarg_0);
        il.Emit(OpCodes.Ldarg_1);
        il.Emit(OpCodes.Call, typeof(GwtTextClassificationTransformer).GetMethod(nameof(GwtTextClassificationTransformer.CreateFromModelContext),
            BindingFlags.Static | BindingFlags.NonPublic | BindingFlags.Public)!);
        il.Emit(OpCodes.Ret);
        var loaderType = loader.CreateType();

        // [assembly: LoadableClass(typeof(GwtTextClassificationTransformer), loader, null, typeof(SignatureLoadModel), userName, loaderSignature)]
        var attrCtor = attrType.GetConstructor(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance, null,
            new[] { typeof(Type), typeof(Type), typeof(Type), typeof(Type), typeof(string), typeof(string[]) }, null)!;
        assembly.SetCustomAttribute(new CustomAttributeBuilder(attrCtor, new object?[]
        {
            typeof(GwtTextClassificationTransformer), loaderType, null, sigType, "GWT text classification",
            new[] { GwtTextClassificationTransformer.LoaderSignature },
        }));
        return assembly;
    }
}
