using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;

namespace MLNetSeg.Vision.Tests.Ops;

/// <summary>
/// Under autocast the detector hands NMS and RoIAlign bfloat16/float16 tensors; as torchvision's autocast
/// wrappers do, they then compute in float32 (NMS returns the float32 run's indices on the widened values,
/// RoIAlign the float32 pooling of the widened input, cast back to the input's dtype). Also the loader-error
/// parsing that lets a wheel's torchvision/_C.so load without LD_PRELOAD.
/// </summary>
[TestClass]
public class ReducedPrecisionOpsTests
{
    private static Tensor Boxes(int n)
    {
        var random = new Random(3);
        var data = new float[n * 4];
        for (int i = 0; i < n; i++)
        {
            float x = random.Next(0, 60), y = random.Next(0, 60);
            data[4 * i] = x; data[4 * i + 1] = y; data[4 * i + 2] = x + random.Next(5, 30); data[4 * i + 3] = y + random.Next(5, 30);
        }
        return Tensor.FromArray(data, n, 4);
    }

    [TestMethod]
    [DataRow(VisionOpsBackend.Composed)]
    [DataRow(VisionOpsBackend.Native)]
    public void NmsOnBFloat16RunsInFloat32(VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var boxes = Boxes(200).To(DType.BFloat16);
        var scores = Tensor.FromArray(Enumerable.Range(0, 200).Select(i => (float)((i * 37) % 101) / 101f).ToArray(), 200).To(DType.BFloat16);
        var keep = VisionOps.Nms(boxes, scores, 0.5, backend);
        var expected = VisionOps.Nms(boxes.To(DType.Float32), scores.To(DType.Float32), 0.5, backend);
        CollectionAssert.AreEqual(expected.ToArray<long>(), keep.ToArray<long>());
        Assert.IsTrue(keep.NumEl is > 10 and < 200, $"{keep.NumEl} kept: the case suppresses something");
        var idxs = Tensor.FromArray(Enumerable.Range(0, 200).Select(i => (long)(i % 3)).ToArray(), 200);
        CollectionAssert.AreEqual(VisionOps.BatchedNms(boxes.To(DType.Float32), scores.To(DType.Float32), idxs, 0.5, backend).ToArray<long>(),
            VisionOps.BatchedNms(boxes, scores.To(DType.Float32), idxs, 0.5, backend).ToArray<long>(), "mixed dtypes are widened too");
    }

    [TestMethod]
    [DataRow(VisionOpsBackend.Composed)]
    [DataRow(VisionOpsBackend.Native)]
    public void RoiAlignOnBFloat16PoolsInFloat32AndReturnsBFloat16(VisionOpsBackend backend)
    {
        Expect.BackendAvailable(backend);
        using var scope = DisposeScope.Enter();
        var input = Tensor.FromArray(Enumerable.Range(0, 2 * 3 * 16 * 16).Select(i => MathF.Sin(i * 0.1f)).ToArray(), 2, 3, 16, 16).To(DType.BFloat16);
        var rois = Tensor.FromArray(new float[] { 0, 1, 1, 9, 12, 1, 3.5f, 2, 15, 11 }, 2, 5);
        var pooled = VisionOps.RoiAlign(input, rois, 4, spatialScale: 1, samplingRatio: 2, aligned: true, backend: backend);
        Assert.AreEqual(DType.BFloat16, pooled.DType);
        var expected = VisionOps.RoiAlign(input.To(DType.Float32), rois, 4, spatialScale: 1, samplingRatio: 2, aligned: true, backend: backend).To(DType.BFloat16);
        Assert.IsTrue(pooled.Equal(expected));
    }

    [TestMethod]
    public void TheLoaderErrorNamesTheLibraryToLoadFirst()
    {
        // The messages dlopen gives for a torch 2.11 wheel's torchvision/_C.so in a .NET process.
        Assert.AreEqual("libtorch.so", TorchvisionNative.MissingLibrary(
            "cannot load /venv/lib/python3.12/site-packages/torchvision/_C.so: libtorch.so: cannot open shared object file: No such file or directory"));
        Assert.AreEqual("libtorch_python.so", TorchvisionNative.MissingLibrary(
            "cannot load /venv/torchvision/_C.so: libtorch_python.so: cannot open shared object file: No such file or directory"));
        Assert.AreEqual("libpython3.12.so.1.0", TorchvisionNative.MissingLibrary(
            "cannot load /venv/torch/lib/libtorch_python.so: libpython3.12.so.1.0: cannot open shared object file: No such file or directory"));
        Assert.AreEqual("libpython3.12.so.1.0", TorchvisionNative.MissingLibrary(
            "cannot load /opt/torch/.venv/lib/python3.12/site-packages/torch/lib/libtorch_python.so: " +
            "/opt/torch/.venv/lib/python3.12/site-packages/torch/lib/libtorch_python.so: undefined symbol: PyInstanceMethod_Type"));
        Assert.IsNull(TorchvisionNative.MissingLibrary("/x/_C.so: undefined symbol: _ZN3c10"));
    }
}
