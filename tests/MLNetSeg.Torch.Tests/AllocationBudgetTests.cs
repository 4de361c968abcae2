namespace MLNetSeg.Torch.Tests;

[TestClass]
public sealed class AllocationBudgetTests
{
    [TestMethod]
    public void ShapeFactoriesStopAtTheOpenBudgetOfTheirThread()
    {
        using var scope = DisposeScope.Enter();
        using (AllocationBudget.Enter(100, "the test's model"))
        {
            Tensor.Empty(new long[] { 6, 10 });
            Tensor.Zeros(new long[] { 30 });
            var e = Assert.ThrowsException<AllocationBudgetException>(() => Tensor.Ones(new long[] { 11 }));
            StringAssert.Contains(e.Message, "the test's model needs more than the 100 elements allowed (a tensor of [11] after 90)");
            Assert.ThrowsException<AllocationBudgetException>(() => Tensor.Full(new long[] { long.MaxValue, 2 }, 1));
            // Another thread has no budget.
            Exception? other = null;
            var thread = new Thread(() => { try { Tensor.Empty(new long[] { 1000 }).Dispose(); } catch (Exception x) { other = x; } });
            thread.Start();
            thread.Join();
            Assert.IsNull(other);
        }
        Assert.AreEqual(1000, Tensor.Empty(new long[] { 1000 }).NumEl, "closed budgets no longer apply");
    }
}
