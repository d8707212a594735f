using System.Diagnostics;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace Microsoft.ML.Gwt.Tests.Onnx;

/// <summary>Runs exported graphs in ONNX Runtime and, where Debian's python3-onnx is installed, through ONNX's checker.</summary>
internal static class OnnxTestSupport
{
    /// <summary>The Python that runs ONNX's checker.</summary>
    public const string Python = "/usr/bin/python3";

    /// <summary>What <see cref="Check"/> returns when there is no Python with onnx.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>Probabilities <c>[batch, classes]</c> from ONNX Runtime for int64 inputs of shape <c>[batch, tokens]</c>.</summary>
    public static float[] Run(InferenceSession session, long[] ids, long[] mask, long[]? types, int batch, int tokens)
    {
        int[] dims = { batch, tokens };
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor("input_ids", new DenseTensor<long>(ids, dims)),
            NamedOnnxValue.CreateFromTensor("attention_mask", new DenseTensor<long>(mask, dims)),
        };
        if (session.InputMetadata.ContainsKey("token_type_ids"))
        {
            inputs.Add(NamedOnnxValue.CreateFromTensor("token_type_ids", new DenseTensor<long>(types ?? new long[ids.Length], dims)));
        }
        using var results = session.Run(inputs);
        return results.Single(r => r.Name == "probabilities").AsTensor<float>().ToArray();
    }

    /// <summary>Runs <c>onnx.checker.check_model(full_check=True)</c> on the file; returns null when it passes, the
    /// checker's output when it fails, and <see cref="Unavailable"/> when there is no Python with onnx (the caller makes the test inconclusive).</summary>
    public static string? Check(string path)
    {
        if (!File.Exists(Python))
        {
            return Unavailable;
        }
        var psi = new ProcessStartInfo(Python, new[] { "-c", "import sys, onnx; onnx.checker.check_model(onnx.load(sys.argv[1]), full_check=True); print('ok')", path })
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var p = Process.Start(psi)!;
        var err = p.StandardError.ReadToEndAsync();
        var output = p.StandardOutput.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0 && err.Result.Contains("No module named 'onnx'", StringComparison.Ordinal))
        {
            return Unavailable;
        }
        return p.ExitCode == 0 && output.Contains("ok", StringComparison.Ordinal) ? null : output + err.Result;
    }
}
