using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Torch.Tests.Optim;

/// <summary>
/// <see cref="GradScaler"/> against torch.cuda.amp.GradScaler's rules (scale 2^16, ×0.5 and a skipped
/// step on inf/NaN gradients, ×2 after growth-interval finite steps) with plain SGD on float64, where
/// the expected values follow by hand; and <see cref="AutocastScope"/> on the CPU.
/// </summary>
[TestClass]
public class GradScalerTests
{
    private static (Tensor W, Sgd Sgd) Setup()
    {
        var w = Tensor.FromArray(new[] { 1.0, -2.0 }, 2).RequiresGrad_();
        return (w, new Sgd(new[] { w }, learningRate: 0.1));
    }

    [TestMethod]
    public void AFiniteStepIsTakenWithUnscaledGradientsAndTheScaleGrowsAfterTheInterval()
    {
        var (w, sgd) = Setup();
        using var _ = w;
        using var __ = sgd;
        var scaler = new GradScaler(initialScale: 1024, growthInterval: 2);
        for (int step = 1; step <= 3; step++)
        {
            sgd.ZeroGrad();
            using (var loss = (w * w).Sum())
            using (var scaled = scaler.ScaleLoss(loss))
                scaled.Backward();
            using (var g = w.Grad!) Assert.AreEqual(2.0 * w.ToArray<double>()[0] * scaler.Scale, g.ToArray<double>()[0], 1e-9, "backward saw the scaled loss");
            var before = w.ToArray<double>();
            scaler.Unscale(sgd);
            Assert.AreEqual(false, scaler.FoundNonFinite);
            using (var g = w.Grad!) CollectionAssert.AreEqual(before.Select(v => 2 * v).ToArray(), g.ToArray<double>(), "unscaled: the true gradient");
            Assert.IsTrue(scaler.Step(sgd));
            CollectionAssert.AreEqual(before.Select(v => v - 0.1 * 2 * v).ToArray(), w.ToArray<double>());
            Assert.AreEqual(step >= 2 ? 2048.0 : 1024.0, scaler.Scale, $"after step {step}");
        }
        Assert.AreEqual(1, scaler.GoodSteps);
        Assert.AreEqual(0, scaler.SkippedSteps);
    }

    [TestMethod]
    public void ANonFiniteGradientSkipsTheStepAndHalvesTheScale()
    {
        var (w, sgd) = Setup();
        using var _ = w;
        using var __ = sgd;
        var scaler = new GradScaler(initialScale: 1024, growthInterval: 2);
        scaler.LoadState(1024, goodSteps: 1);
        sgd.ZeroGrad();
        using (var loss = (w * double.PositiveInfinity).Sum()) scaler.ScaleLoss(loss).Backward();
        var before = w.ToArray<double>();
        Assert.IsFalse(scaler.Step(sgd));
        CollectionAssert.AreEqual(before, w.ToArray<double>(), "the step was skipped");
        Assert.AreEqual(512.0, scaler.Scale);
        Assert.AreEqual(0, scaler.GoodSteps);
        Assert.AreEqual(1, scaler.SkippedSteps);
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => new GradScaler(initialScale: 0));
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => new GradScaler(backoffFactor: 1));
    }

    [TestMethod]
    public void AutocastRunsMatrixProductsInBFloat16OnThisThreadUntilDisposed()
    {
        using var a = Tensor.Ones(new long[] { 4, 8 });
        using var b = Tensor.Ones(new long[] { 8, 3 });
        using (AutocastScope.Enter(Device.Cpu))
        {
            using (var inside = a.Mm(b)) Assert.AreEqual(DType.BFloat16, inside.DType);
            using (AutocastScope.Disable(Device.Cpu))
            using (var off = a.Mm(b)) Assert.AreEqual(DType.Float32, off.DType, "disabled inside");
            using (var again = a.Mm(b)) Assert.AreEqual(DType.BFloat16, again.DType, "the inner scope restored it");
            DType other = DType.Float32;
            var t = new Thread(() => { using var m = a.Mm(b); other = m.DType; });
            t.Start();
            t.Join();
            Assert.AreEqual(DType.Float32, other, "autocast is per thread");
        }
        using (var after = a.Mm(b)) Assert.AreEqual(DType.Float32, after.DType);
        Assert.ThrowsException<TorchException>(() => AutocastScope.Enter(Device.Cpu, DType.Float64));
    }
}
