using TorchSharp;
using static TorchSharp.torch;

namespace Microsoft.ML.Gwt.Modeling;

/// <summary>Tensors put on a device without leaving the copy behind: on CUDA, <c>to(device)</c> returns a new tensor and
/// the CPU original must be disposed (otherwise it waits for the finalizer); on the CPU it may be the same tensor, which
/// is then returned, not disposed.</summary>
internal static class DeviceTensors
{
    /// <summary><paramref name="t"/> on <paramref name="device"/>; <paramref name="t"/> itself is disposed when the result
    /// is another tensor.</summary>
    public static Tensor MoveTo(Tensor t, Device device)
    {
        var moved = t.to(device);
        if (!ReferenceEquals(moved, t))
        {
            t.Dispose();
        }
        return moved;
    }

    /// <summary>An int64 tensor of <paramref name="shape"/> with <paramref name="values"/>, on <paramref name="device"/>.</summary>
    public static Tensor FromArray(long[] values, long[] shape, Device device) => MoveTo(torch.tensor(values, shape), device);

    /// <summary>A one-dimensional int64 tensor of <paramref name="values"/>, on <paramref name="device"/>.</summary>
    public static Tensor FromArray(long[] values, Device device) => MoveTo(torch.tensor(values), device);

    /// <summary>A one-dimensional float32 tensor of <paramref name="values"/>, on <paramref name="device"/>.</summary>
    public static Tensor FromArray(float[] values, Device device) => MoveTo(torch.tensor(values), device);
}
