using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Gwt.Core.Interop;

namespace Microsoft.ML.Gwt.Tests.Interop;

/// <summary>Every internal ML.NET member the library uses binds, by its full signature, on the ML.NET this run was built
/// for (.ci/run runs this on 6.0.0 and again on 5.0.1).</summary>
[TestClass]
public sealed class MlNetBindingsTests
{
    [TestMethod]
    public void EveryMemberBindsByItsFullSignature()
    {
        var bindings = MlNetBindings.Current;
        var signatures = bindings.All.Select(b => b.Signature).ToList();
        Console.WriteLine($"ML.NET {MlNetVersionGuardTests.BuiltFor}: {signatures.Count} bindings\n  " + string.Join("\n  ", signatures));
        // Written out: a binding added to or dropped from MlNetBindings must be added to or dropped from this list.
        CollectionAssert.AreEquivalent(new[]
        {
            "Microsoft.ML.ModelLoadContext", "Microsoft.ML.VersionInfo", "Microsoft.ML.LoadableClassAttribute",
            "Microsoft.ML.SignatureLoadModel", "Microsoft.ML.ModelHeader", "Microsoft.ML.Runtime.ICancelable",
            "Microsoft.ML.Data.IInternalCatalog",
            "VersionInfo(String, UInt32, UInt32, UInt32, String, String, String)",
            "Void ModelSaveContext.CheckAtModel()",
            "Void ModelSaveContext.SetVersionInfo(VersionInfo)",
            "BinaryWriter ModelSaveContext.Writer",
            "Void ModelSaveContext.SaveBinaryStream(String, Action`1)",
            "Void ModelLoadContext.CheckAtModel(VersionInfo)",
            "BinaryReader ModelLoadContext.Reader",
            "ModelHeader ModelLoadContext.Header",
            "Boolean ModelLoadContext.TryLoadBinaryStream(String, Action`1)",
            "UInt64 ModelHeader.ModelSignature",
            "UInt32 ModelHeader.ModelVerWritten",
            "Boolean ICancelable.IsCanceled",
            "IHostEnvironment IInternalCatalog.Environment",
            "Column(String, VectorKind, DataViewType, Boolean, SchemaShape)",
            "LoadableClassAttribute(Type, Type, Type, Type, String, String[])",
        }, signatures);
        Assert.IsTrue(bindings.All.All(b => b.Member is not null));
        Assert.AreEqual(typeof(ModelSaveContext).Assembly, bindings.ModelLoadContext.Assembly);
    }

    [TestMethod]
    public void TheCatalogEnvironmentIsTheRealContext()
    {
        // The catalog holds the MLContext's inner environment: the same component catalog, not another context's.
        var ml = new MLContext(3);
        var env = MlNetInterop.EnvironmentOf(ml.MulticlassClassification.Trainers, "catalog");
        Assert.AreSame(((Microsoft.ML.Runtime.IHostEnvironment)ml).ComponentCatalog, env.ComponentCatalog);
        Assert.AreNotSame(((Microsoft.ML.Runtime.IHostEnvironment)new MLContext(3)).ComponentCatalog, env.ComponentCatalog);
        var notACatalog = Assert.ThrowsExactly<ArgumentException>(() => MlNetInterop.EnvironmentOf(new object(), "catalog"));
        Assert.AreEqual("catalog", notACatalog.ParamName);
        StringAssert.Contains(notACatalog.Message, "Object is not one of ML.NET's catalogs");
    }

    [TestMethod]
    public void AMissingMemberIsReportedByItsSignatureAndTheSupportedLines()
    {
        // The error a renamed member would give: built by the same code path, for a member that does not exist.
        var method = typeof(MlNetBindings).GetMethod("Missing", BindingFlags.NonPublic | BindingFlags.Static)!;
        var ex = (MissingMemberException)method.Invoke(null, new object[] { "Void ModelSaveContext.Renamed()", typeof(ModelSaveContext).Assembly })!;
        StringAssert.Contains(ex.Message, "could not find Void ModelSaveContext.Renamed() in Microsoft.ML.Core " + MlNetVersionGuardTests.BuiltFor);
        StringAssert.Contains(ex.Message, "Reference Microsoft.ML 5.0.x or 6.0.x");
    }

    private sealed class Shapes
    {
#pragma warning disable CS0649, CS0169 // read by reflection only
        internal int Count;
        internal string? Name;
#pragma warning restore CS0649, CS0169
        internal int Parse(string text) => text.Length;
        internal void Reset(string text) { }
        internal bool Ready => true;
        internal bool WriteOnly { set { } }
    }

    [TestMethod]
    public void AMemberWhoseTypesChangedDoesNotBind()
    {
        // The checks that make a re-typed ML.NET member fail to bind, instead of binding by name.
        Assert.IsNotNull(MlNetBindings.FindMethod(typeof(Shapes), "Parse", typeof(int), typeof(string)));
        Assert.IsNull(MlNetBindings.FindMethod(typeof(Shapes), "Parse", typeof(void), typeof(string)), "other return type");
        Assert.IsNull(MlNetBindings.FindMethod(typeof(Shapes), "Parse", typeof(int), typeof(object)), "other parameter type");
        Assert.IsNull(MlNetBindings.FindMethod(typeof(Shapes), "Parse", typeof(int)), "other parameter count");
        Assert.IsNotNull(MlNetBindings.FindMethod(typeof(Shapes), "Reset", typeof(void), typeof(string)));
        Assert.IsNotNull(MlNetBindings.FindField(typeof(Shapes), "Count", typeof(int)));
        Assert.IsNull(MlNetBindings.FindField(typeof(Shapes), "Count", typeof(long)), "other field type");
        Assert.IsNull(MlNetBindings.FindField(typeof(Shapes), "Missing", typeof(int)));
        Assert.IsNotNull(MlNetBindings.FindProperty(typeof(Shapes), "Ready", typeof(bool)));
        Assert.IsNull(MlNetBindings.FindProperty(typeof(Shapes), "Ready", typeof(int)), "other property type");
        Assert.IsNull(MlNetBindings.FindProperty(typeof(Shapes), "WriteOnly", typeof(bool)), "no getter");
    }
}
