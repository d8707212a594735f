using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.ML.Gwt.Core.Modeling;
using Microsoft.ML.Gwt.Onnx;
using Microsoft.ML.Gwt.OnnxImport;

namespace Microsoft.ML.Gwt.Tests.Packaging;

/// <summary>The four library assemblies say what they hold: each public namespace belongs to the assembly of the same
/// name, no assembly shares its internals with another library assembly, and each references only the natives it uses.</summary>
[TestClass]
public sealed class AssemblyLayoutTests
{
    private static readonly Assembly Core = typeof(TransformerConfig).Assembly;
    private static readonly Assembly Training = typeof(GwtModelLoader).Assembly;
    private static readonly Assembly Onnx = typeof(GwtOnnxTextClassificationTransformer).Assembly;
    private static readonly Assembly OnnxImport = typeof(OnnxEncoderImport).Assembly;
    private static readonly Assembly[] Libraries = { Core, Training, Onnx, OnnxImport };

    [TestMethod]
    public void TheAssembliesAreTheFourPackages()
    {
        CollectionAssert.AreEquivalent(new[] { "Microsoft.ML.Gwt.Core", "Microsoft.ML.Gwt", "Microsoft.ML.Gwt.Onnx", "Microsoft.ML.Gwt.OnnxImport" },
            Libraries.Select(a => a.GetName().Name).ToArray());
    }

    [TestMethod]
    public void EveryPublicNamespaceBelongsToTheAssemblyOfItsName()
    {
        var names = Libraries.Select(a => a.GetName().Name!).ToArray();
        var wrong = new List<string>();
        foreach (var assembly in Libraries)
        {
            foreach (var type in assembly.GetExportedTypes())
            {
                string ns = type.Namespace ?? "";
                if (ns == "Microsoft.ML" && type.IsAbstract && type.IsSealed && type.Name.EndsWith("Catalog", StringComparison.Ordinal))
                {
                    continue; // ML.NET's convention: catalog extension methods live in Microsoft.ML, where MLContext is
                }
                // The owner of a namespace is the library whose name is its longest dotted prefix.
                string? owner = names.Where(n => ns == n || ns.StartsWith(n + ".", StringComparison.Ordinal)).MaxBy(n => n.Length);
                if (owner != assembly.GetName().Name)
                {
                    wrong.Add($"{type.FullName} in {assembly.GetName().Name} (its namespace belongs to {owner ?? "no library"})");
                }
            }
        }
        Assert.IsEmpty(wrong, string.Join("\n", wrong));
    }

    [TestMethod]
    public void NoLibraryAssemblySharesItsInternalsWithAnother()
    {
        foreach (var assembly in Libraries)
        {
            var friends = assembly.GetCustomAttributes<InternalsVisibleToAttribute>().Select(a => a.AssemblyName).ToArray();
            var expected = assembly == OnnxImport ? Array.Empty<string>() : new[] { "Microsoft.ML.Gwt.Tests" };
            CollectionAssert.AreEqual(expected, friends, $"{assembly.GetName().Name}: {string.Join(", ", friends)}");
        }
    }

    [TestMethod]
    [DataRow("Microsoft.ML.Gwt.Core", "TorchSharp,Microsoft.ML.OnnxRuntime,Microsoft.ML.Gwt,Microsoft.ML.Gwt.Onnx,Microsoft.ML.Gwt.OnnxImport")]
    [DataRow("Microsoft.ML.Gwt", "Microsoft.ML.OnnxRuntime,Microsoft.ML.Gwt.Onnx,Microsoft.ML.Gwt.OnnxImport")]
    [DataRow("Microsoft.ML.Gwt.Onnx", "TorchSharp,Microsoft.ML.Gwt,Microsoft.ML.Gwt.OnnxImport")]
    [DataRow("Microsoft.ML.Gwt.OnnxImport", "Microsoft.ML.Gwt.Onnx")]
    public void EachAssemblyReferencesOnlyWhatItsPackageBrings(string name, string forbidden)
    {
        var assembly = Libraries.Single(a => a.GetName().Name == name);
        var references = assembly.GetReferencedAssemblies().Select(r => r.Name!).ToArray();
        foreach (var f in forbidden.Split(','))
        {
            Assert.DoesNotContain(f, references, $"{name} references {f}: {string.Join(", ", references)}");
        }
    }
}
