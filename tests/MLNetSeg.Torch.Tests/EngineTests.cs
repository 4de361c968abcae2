using MLNetSeg.Torch;

namespace MLNetSeg.Torch.Tests;

[TestClass]
public class EngineTests
{
    [TestMethod]
    public void DataRoundTripsThroughNativeTensors()
    {
        var data = new float[] { 1, 2, 3, 4, 5, 6 };
        using var t = Tensor.FromArray(data, 2, 3);
        CollectionAssert.AreEqual(new long[] { 2, 3 }, t.Shape);
        Assert.AreEqual(DType.Float32, t.DType);
        Assert.AreEqual(Device.Cpu, t.Device);
        CollectionAssert.AreEqual(data, t.ToArray<float>());
        using var l = Tensor.FromArray(new long[] { 7, -8 }, 2);
        CollectionAssert.AreEqual(new long[] { 7, -8 }, l.ToArray<long>());
    }

    [TestMethod]
    public void ArithmeticBroadcastsLikeTorch()
    {
        using var scope = DisposeScope.Enter();
        var a = Tensor.FromArray(new float[] { 1, 2, 3, 4, 5, 6 }, 2, 3);
        var b = Tensor.FromArray(new float[] { 10, 20, 30 }, 3);
        var c = (a + b) * 2 - 1;
        CollectionAssert.AreEqual(new float[] { 21, 43, 65, 27, 49, 71 }, c.ToArray<float>());
    }

    [TestMethod]
    public void IntegerScalarsKeepIntegerTensorsIntegral()
    {
        // torch: int64 + 1 -> int64, int64 + 1.0 -> float32 (default dtype), float32 + 1 -> float32.
        using var scope = DisposeScope.Enter();
        var i = Tensor.FromArray(new long[] { 1, 2 }, 2);
        Assert.AreEqual(DType.Int64, (i + 1).DType);
        Assert.AreEqual(DType.Int64, (2 * i - 1).DType);
        CollectionAssert.AreEqual(new long[] { 1, 3 }, (2 * i - 1).ToArray<long>());
        Assert.AreEqual(DType.Float32, (i + 1.0).DType);
        CollectionAssert.AreEqual(new long[] { 2, 4 }, (i + i).ToArray<long>());   // alpha must go as an int
        CollectionAssert.AreEqual(new long[] { -1, -2 }, i.Sub(i, 2).ToArray<long>());
        Assert.AreEqual(DType.Float32, (Tensor.Ones(new long[] { 2 }) + 1).DType);
        var big = Tensor.Zeros(new long[] { 1 }, DType.Int64).Fill_((1L << 62) + 1);
        Assert.AreEqual((1L << 62) + 1, big.ToArray<long>()[0]);
    }

    [TestMethod]
    public void ShapeMismatchRaisesManagedExceptionWithTorchsMessage()
    {
        using var scope = DisposeScope.Enter();
        var a = Tensor.Zeros(new long[] { 2, 3 });
        var b = Tensor.Zeros(new long[] { 4 });
        var e = Assert.ThrowsException<TorchException>(() => a + b);
        StringAssert.Contains(e.Message, "must match the size of tensor b");
    }

    [TestMethod]
    public void ProcessSurvivesThousandsOfNativeErrors()
    {
        using var scope = DisposeScope.Enter();
        var a = Tensor.Zeros(new long[] { 2, 3 });
        var b = Tensor.Zeros(new long[] { 5 });
        var idx = Tensor.FromArray(new long[] { 7 }, 1);
        var reshape = new Op("reshape");
        var indexSelect = new Op("index_select");
        for (int i = 0; i < 1000; i++)
        {
            Assert.ThrowsException<TorchException>(() => a.Mul(b));
            Assert.ThrowsException<TorchException>(() => reshape.Invoke(a, new long[] { 7 }));
            var e = Assert.ThrowsException<TorchException>(() => indexSelect.Invoke(a, 0, idx));
            StringAssert.Contains(e.Message, "out of range");
        }
        using var ok = a + 1;
        Assert.AreEqual(6.0, ok.ToArray<float>().Sum());
    }

    [TestMethod]
    public void BackwardComputesGradients()
    {
        using var scope = DisposeScope.Enter();
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }, 3).RequiresGrad_();
        var y = new Op("sum").Invoke(x * x * 3);
        y.Backward();
        CollectionAssert.AreEqual(new float[] { 6, 12, 18 }, x.Grad!.ToArray<float>());
        using (NoGradScope.Enter())
        {
            var z = x * 2;
            Assert.IsFalse(z.RequiresGrad);
        }
        Assert.IsTrue((x * 2).RequiresGrad);
    }

    [TestMethod]
    public void DisposeScopeFreesEverythingNotMovedOut()
    {
        Tensor kept, dropped;
        using (var scope = DisposeScope.Enter())
        {
            dropped = Tensor.Ones(new long[] { 3 });
            kept = scope.MoveToOuter(dropped + 1);
            Assert.AreEqual(1, scope.Count, "only `dropped` is still owned by the scope");
        }
        Assert.IsTrue(dropped.IsDisposed);
        Assert.IsFalse(kept.IsDisposed);
        CollectionAssert.AreEqual(new float[] { 2, 2, 2 }, kept.ToArray<float>());
        kept.Dispose();
        Assert.ThrowsException<ObjectDisposedException>(() => kept.Shape);
    }

    [TestMethod]
    public void TrainingLoopLeavesNoNativeTensorsBehind()
    {
        using var model = new MLNetSeg.Torch.Nn.Sequential(
            new MLNetSeg.Torch.Nn.Conv2d(3, 4, 3, padding: 1), new MLNetSeg.Torch.Nn.BatchNorm2d(4), new MLNetSeg.Torch.Nn.ReLU());
        using var optimizer = new MLNetSeg.Torch.Optim.Sgd(model.Parameters(), learningRate: 0.01, momentum: 0.9);
        void Step()
        {
            using var scope = DisposeScope.Enter();
            var loss = model.Forward(Tensor.Randn(new long[] { 2, 3, 8, 8 })).Mean();
            optimizer.ZeroGrad();
            loss.Backward();
            optimizer.Step();
        }
        Step();  // creates the momentum buffers
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long live = TorchRuntime.LiveTensors, finalized = TorchRuntime.FinalizedTensors;
        for (int i = 0; i < 50; i++) Step();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        Assert.AreEqual(live, TorchRuntime.LiveTensors, "native tensors outlived the loop");
        Assert.AreEqual(finalized, TorchRuntime.FinalizedTensors, "tensors were left to the finalizer instead of being disposed");
    }

    [TestMethod]
    public void SeedingMakesRandomTensorsReproducible()
    {
        using var scope = DisposeScope.Enter();
        TorchRuntime.ManualSeed(42);
        var a = Tensor.Randn(new long[] { 5 }).ToArray<float>();
        var state = TorchRuntime.GetRngState();
        var b = Tensor.Randn(new long[] { 5 }).ToArray<float>();
        TorchRuntime.ManualSeed(42);
        CollectionAssert.AreEqual(a, Tensor.Randn(new long[] { 5 }).ToArray<float>());
        TorchRuntime.SetRngState(state);
        CollectionAssert.AreEqual(b, Tensor.Randn(new long[] { 5 }).ToArray<float>());
        CollectionAssert.AreNotEqual(a, b);
    }

    /// <summary>The default thread count is every core, unless $MLNETSEG_THREADS names a positive
    /// number (as when the suite itself runs with MLNETSEG_THREADS=1 or 4).</summary>
    [TestMethod]
    public void OpenBlasIsTheBlasInUseAndThreadsAreSet()
    {
        StringAssert.StartsWith(TorchRuntime.BlasInfo, "OpenBLAS");
        var configured = Environment.GetEnvironmentVariable("MLNETSEG_THREADS");
        int expected = int.TryParse(configured, out var n) && n > 0 ? n : Environment.ProcessorCount;
        Assert.AreEqual(expected, TorchRuntime.Threads, $"threads (MLNETSEG_THREADS={configured ?? "unset"}, {Environment.ProcessorCount} cores)");
    }
}
