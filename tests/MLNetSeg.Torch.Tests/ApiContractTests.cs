using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Torch.Tests;

/// <summary>
/// Members that used to leave temporaries to the finalizer free them, and members that accepted
/// values their siblings refuse now refuse them too (found while documenting the API).
/// </summary>
[TestClass]
public sealed class ApiContractTests
{
    /// <summary>Runs <paramref name="action"/> outside any dispose scope; returns how many native tensors it left behind
    /// besides those it returns to the caller, and how many the finalizer had to free.</summary>
    private static (long Leaked, long Finalized) Leaks(Func<IReadOnlyList<Tensor>> action)
    {
        GC.Collect();
        GC.WaitForPendingFinalizers();
        long live = TorchRuntime.LiveTensors, finalized = TorchRuntime.FinalizedTensors;
        var kept = action();
        long leaked = TorchRuntime.LiveTensors - live - kept.Count;
        foreach (var t in kept) t.Dispose();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        return (leaked, TorchRuntime.FinalizedTensors - finalized);
    }

    [TestMethod]
    public void ToStringNonzeroAsTupleAndScalarDivisionFreeTheirTemporaries()
    {
        using var x = Tensor.FromArray(new float[] { 0, 2, 0, 4 }, 2, 2);
        Assert.AreEqual((0L, 0L), Leaks(() => { _ = x.ToString(); return []; }), "ToString");
        StringAssert.Contains(x.ToString(), "[0, 2, 0, 4]");
        Assert.AreEqual((0L, 0L), Leaks(() => x.NonzeroAsTuple()), "NonzeroAsTuple");
        var parts = x.NonzeroAsTuple();
        CollectionAssert.AreEqual(new long[] { 0, 1 }, parts[0].ToArray<long>(), "rows of the non-zeros");
        CollectionAssert.AreEqual(new long[] { 1, 1 }, parts[1].ToArray<long>(), "columns of the non-zeros");
        foreach (var p in parts) p.Dispose();
        using var nonzero = Tensor.FromArray(new float[] { 1, 2, 4, 8 }, 4);
        Assert.AreEqual((0L, 0L), Leaks(() => [8.0 / nonzero]), "double / Tensor");
        using var quotient = 8.0 / nonzero;
        CollectionAssert.AreEqual(new float[] { 8, 4, 2, 1 }, quotient.ToArray<float>());
    }

    [TestMethod]
    public void CopyToChecksTheElementTypeExceptForRawBytes()
    {
        using var x = Tensor.FromArray(new float[] { 1, 2 }, 2);
        var e = Assert.ThrowsException<InvalidOperationException>(() => x.CopyTo<int>(new int[2]));
        StringAssert.Contains(e.Message, "Float32");
        var bytes = new byte[8];
        x.CopyTo<byte>(bytes);
        CollectionAssert.AreEqual(BitConverter.GetBytes(1f).Concat(BitConverter.GetBytes(2f)).ToArray(), bytes);
    }

    [TestMethod]
    public void NegativeCudaOrdinalsAndBadLearningRatesAreRefused()
    {
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => Device.Cuda(-1));
        Assert.AreEqual(new Device(DeviceType.Cuda, 1), Device.Cuda(1));
        using var w = Tensor.Zeros(new long[] { 2 }).RequiresGrad_();
        var sgd = new Sgd(new[] { w }, learningRate: 0.1);
        foreach (var bad in new[] { -0.1, double.NaN, double.PositiveInfinity })
            Assert.ThrowsException<ArgumentOutOfRangeException>(() => sgd.ParamGroups[0].LearningRate = bad, $"lr {bad}");
        sgd.ParamGroups[0].LearningRate = 0;
        Assert.AreEqual(0, sgd.ParamGroups[0].LearningRate);
    }
}
