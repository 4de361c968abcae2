using MLNetSeg.Torch;

namespace MLNetSeg.Torch.Tests;

/// <summary>
/// Behaviour of the Tensor method surface that values alone don't show: views share storage,
/// the indexer frees its intermediates and leaves the caller's tensors alone, optional results
/// are null. Numeric parity with torch is in Parity/TensorOpsParityTests.
/// </summary>
[TestClass]
public class TensorOpsTests
{
    private static Tensor Grid() => Tensor.Arange(0, 12, 1, DType.Float32).Reshape(3, 4);

    [TestMethod]
    public void IndexerGetterReturnsAViewLikeTorch()
    {
        using var scope = DisposeScope.Enter();
        var x = Grid();
        x[1].Fill_(-1);                  // x[1].fill_(-1) in torch writes through the view
        x[.., 3].Fill_(100);
        CollectionAssert.AreEqual(new float[] { 0, 1, 2, 100, -1, -1, -1, 100, 8, 9, 10, 100 }, x.ToArray<float>());
    }

    [TestMethod]
    public void AdvancedIndexingCopiesInsteadOfViewing()
    {
        using var scope = DisposeScope.Enter();
        var x = Grid();
        var rows = x[Tensor.FromArray(new long[] { 0, 2 }, 2)];
        rows.Fill_(-5);
        Assert.AreEqual(66.0, x.Sum().ItemDouble(), "x must be unchanged: 0 + 1 + ... + 11");
    }

    [TestMethod]
    public void SetterWritesBroadcastValues()
    {
        using var scope = DisposeScope.Enter();
        var x = Grid();
        x[1.., TensorIndex.Slice(0, null, 2)] = Tensor.FromArray(new float[] { 7, 8 }, 2);
        x.Fill_(0, x.Gt(9));             // x[x > 9] = 0
        CollectionAssert.AreEqual(new float[] { 0, 1, 2, 3, 7, 5, 8, 7, 7, 9, 8, 0 }, x.ToArray<float>());
    }

    [TestMethod]
    public void IndexerFreesItsIntermediatesAndKeepsTheCallersTensors()
    {
        using var scope = DisposeScope.Enter();
        var x = Grid();
        var index = Tensor.FromArray(new long[] { 2, 0 }, 2);
        int before = scope.Count;
        var y = x[1.., TensorIndex.NewAxis, index];  // slice, unsqueeze, then aten::index
        Assert.AreEqual(before + 1, scope.Count, "only the result may stay alive in the scope");
        Assert.IsFalse(index.IsDisposed);
        CollectionAssert.AreEqual(new long[] { 2, 1, 2 }, y.Shape);
        CollectionAssert.AreEqual(new float[] { 6, 4, 10, 8 }, y.ToArray<float>());
    }

    [TestMethod]
    public void WholeTensorIndexIsAnAliasOfTheSameStorage()
    {
        using var scope = DisposeScope.Enter();
        var x = Grid();
        var all = x[TensorIndex.Ellipsis];
        Assert.AreNotSame(x, all);
        all.Fill_(3);
        Assert.AreEqual(36.0, x.Sum().ItemDouble());
    }

    [TestMethod]
    public void ComparisonsAreElementwiseAndEqualIsWhole()
    {
        using var scope = DisposeScope.Enter();
        var a = Tensor.FromArray(new float[] { 1, 2, 3 }, 3);
        var b = Tensor.FromArray(new float[] { 1, 5, 3 }, 3);
        Assert.AreEqual(DType.Bool, a.Eq(b).DType);
        CollectionAssert.AreEqual(new[] { true, false, true }, a.Eq(b).ToArray<bool>());
        Assert.IsFalse(a.Equal(b));
        Assert.IsTrue(a.Equal(a.Clone()));
        Assert.IsTrue(a.AllClose(a + 1e-9));
        Assert.IsFalse(a.AllClose(b));
    }

    [TestMethod]
    public void UniqueLeavesResultsNotAskedForNull()
    {
        using var scope = DisposeScope.Enter();
        var (values, inverse, counts) = Tensor.FromArray(new long[] { 3, 1, 3 }, 3).Unique();
        CollectionAssert.AreEqual(new long[] { 1, 3 }, values.ToArray<long>());
        Assert.IsNull(inverse);
        Assert.IsNull(counts);
    }

    [TestMethod]
    public void CatNamesTheNullEntry()
    {
        using var scope = DisposeScope.Enter();
        var e = Assert.ThrowsException<ArgumentNullException>(() => Tensor.Cat(new Tensor[] { Grid(), null! }));
        StringAssert.Contains(e.Message, "tensor 1");
    }

    [TestMethod]
    public void InPlaceIndexPutAccumulatesDuplicates()
    {
        using var scope = DisposeScope.Enter();
        var x = Tensor.Zeros(new long[] { 3 });
        var same = x.IndexPut_(new Tensor?[] { Tensor.FromArray(new long[] { 0, 2, 0 }, 3) }, Tensor.Ones(new long[] { 3 }), accumulate: true);
        Assert.AreSame(x, same);
        CollectionAssert.AreEqual(new float[] { 2, 0, 1 }, x.ToArray<float>());
    }

    [TestMethod]
    public void IntegerBoundsAndFillsKeepInt64TensorsExact()
    {
        // 2^53 + 1 has no double: a bound or fill passed as a double would come back as 2^53 (or promote the tensor).
        using var scope = DisposeScope.Enter();
        const long big = 9_007_199_254_740_993;
        var x = Tensor.FromArray(new long[] { -7, 3, big }, 3);
        var clamped = x.Clamp(-3L, big);
        Assert.AreEqual(DType.Int64, clamped.DType);
        CollectionAssert.AreEqual(new long[] { -3, 3, big }, clamped.ToArray<long>());
        CollectionAssert.AreEqual(new long[] { 0, 3, big }, x.ClampMin(0L).ToArray<long>());
        CollectionAssert.AreEqual(new long[] { -7, 3, big - 1 }, x.ClampMax(big - 1).ToArray<long>());
        var filled = x.Clone();
        Assert.AreSame(filled, filled.MaskedFill_(Tensor.FromArray(new[] { true, false, false }, 3), big));
        CollectionAssert.AreEqual(new long[] { big, 3, big }, filled.ToArray<long>());
    }

    [TestMethod]
    public void TensorRemainderAndFloorDivideRoundTowardsMinusInfinityAsPython()
    {
        // Python: -7 % 3 == 2, 7 % -3 == -2, 7 % 3 == 1; -7 // 3 == -3, 7 // -3 == -3, 7 // 3 == 2.
        using var scope = DisposeScope.Enter();
        var a = Tensor.FromArray(new long[] { -7, 7, 7 }, 3);
        var b = Tensor.FromArray(new long[] { 3, -3, 3 }, 3);
        Assert.AreEqual(DType.Int64, a.Remainder(b).DType);
        CollectionAssert.AreEqual(new long[] { 2, -2, 1 }, a.Remainder(b).ToArray<long>());
        Assert.AreEqual(DType.Int64, a.FloorDivide(b).DType);
        CollectionAssert.AreEqual(new long[] { -3, -3, 2 }, a.FloorDivide(b).ToArray<long>());
    }
}
