using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using MLNetSeg.Torch.Distributed;
using MLNetSeg.Torch.Optim;

namespace MLNetSeg.Torch.Tests.Distributed;

/// <summary>
/// c10d through the shim: the ranks of a group are threads of this process here (each with its own
/// TCP store client and Gloo connections, as separate processes would have), so the checks run
/// without spawning. Expected values are computed independently (closed form, or plain autograd on
/// one rank's data without any reducer).
/// </summary>
[TestClass]
public class ProcessGroupTests
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(60);

    internal static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Runs <paramref name="body"/> as ranks 0..world−1 of one Gloo group, each on its own thread; rethrows the first failure.</summary>
    internal static T[] RunRanks<T>(int world, Func<ProcessGroup, T> body, TimeSpan? timeout = null, bool finalBarrier = true)
    {
        int port = FreePort();
        var results = new T[world];
        var errors = new Exception?[world];
        var threads = Enumerable.Range(0, world).Select(rank => new Thread(() =>
        {
            try
            {
                using var store = RendezvousStore.Tcp("127.0.0.1", port, world, isServer: rank == 0, timeout ?? Timeout);
                using var group = ProcessGroup.Gloo(store, rank, world, timeout ?? Timeout);
                results[rank] = body(group);
                if (finalBarrier) group.Barrier();  // the server store must outlive every client's last use
            }
            catch (Exception e) { errors[rank] = e; }
        })).ToArray();
        foreach (var t in threads) t.Start();
        foreach (var t in threads) t.Join();
        var failed = errors.OfType<Exception>().ToArray();
        if (failed.Length == 1) System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failed[0]);
        if (failed.Length > 1) throw new AggregateException(failed);
        return results;
    }

    [TestMethod]
    public void AllReduceAndBroadcastGiveEveryRankTheSameResult()
    {
        var results = RunRanks(3, group =>
        {
            int r = group.Rank;
            using var sum = Tensor.FromArray(new[] { r + 1.0, 10.0 * (r + 1) }, 2);
            using var max = Tensor.FromArray(new[] { (float)r, -r }, 2);
            using var fromOne = Tensor.FromArray(new long[] { r, r * r }, 2);
            group.AllReduce(new[] { sum });
            group.AllReduce(new[] { max }, ReduceOp.Max);
            group.Broadcast(new[] { fromOne }, root: 1);
            return (sum.ToArray<double>(), max.ToArray<float>(), fromOne.ToArray<long>());
        });
        foreach (var (sum, max, fromOne) in results)
        {
            CollectionAssert.AreEqual(new[] { 6.0, 60.0 }, sum);
            CollectionAssert.AreEqual(new[] { 2f, 0f }, max);
            CollectionAssert.AreEqual(new long[] { 1, 1 }, fromOne);
        }
    }

    /// <summary>
    /// Each rank fits y = x·w on its own rows. After one reduced backward every rank's gradient must be
    /// the mean of the two ranks' local gradients (computed here without a reducer, float64), and
    /// rank 1's different initial w must have been replaced by rank 0's.
    /// </summary>
    [TestMethod]
    public void TheReducerAveragesGradientsAndStartsFromRankZerosWeights()
    {
        static double[] Rows(int rank) => Enumerable.Range(0, 12).Select(i => Math.Sin(1.3 * i + rank) * (rank + 1)).ToArray();
        static double[] Init(int rank) => new[] { 0.5 + rank, -0.25, 0.75 - rank };
        // The expected mean gradient: each rank's local gradient from rank 0's initial weights.
        double[] Local(int rank)
        {
            using var x = Tensor.FromArray(Rows(rank), 4, 3);
            using var w = Tensor.FromArray(Init(0), 3, 1).RequiresGrad_();
            using var y = x.Mm(w);
            using var loss = (y * y).Sum();
            loss.Backward();
            using var g = w.Grad!;
            return g.ToArray<double>();
        }
        var expected = Local(0).Zip(Local(1), (a, b) => (a + b) / 2).ToArray();

        var results = RunRanks(2, group =>
        {
            using var w = Tensor.FromArray(Init(group.Rank), 3, 1).RequiresGrad_();
            using var bias = Tensor.FromArray(new[] { 0.0 }, 1).RequiresGrad_();
            using var reducer = new GradientReducer(group, new[] { w, bias });
            var start = w.ToArray<double>();
            using var x = Tensor.FromArray(Rows(group.Rank), 4, 3);
            reducer.PrepareForForward();
            using var y = x.Mm(w) + bias * 0.0;
            using var loss = (y * y).Sum();
            reducer.PrepareForBackward(loss);
            loss.Backward();
            using var g = w.Grad!;
            return (start, g.ToArray<double>());
        });
        foreach (var (start, grad) in results)
        {
            CollectionAssert.AreEqual(Init(0), start, "every rank starts from rank 0's weights");
            for (int i = 0; i < 3; i++) Assert.AreEqual(expected[i], grad[i], 1e-12 * Math.Abs(expected[i]) + 1e-14, $"grad[{i}]");
        }
        Assert.AreNotEqual(Local(0)[0], expected[0], "the two ranks' data differ, so averaging is visible");
    }

    /// <summary>
    /// The equivalence: 2 ranks × 2 images give, after K SGD steps (momentum, weight decay), the
    /// weights 1 process × 4 images gives. The model (conv → ReLU → linear, loss the mean over the batch)
    /// has per-image-mean losses, so the mean of two 2-image means is the 4-image mean; in float64 the
    /// only difference is the order of the sums (all-reduce, then ÷ 2): 1e-12 relative.
    /// </summary>
    [TestMethod]
    public void TwoRanksOfTwoImagesTrainAsOneProcessOfFour()
    {
        const int Steps = 3;
        static Tensor Images(int step, int first, int count) =>
            Tensor.FromArray(Enumerable.Range(0, count * 2 * 5 * 5).Select(i => Math.Cos(0.37 * (i + 50 * (first + 4 * step)) + step)).ToArray(), count, 2, 5, 5);
        static Tensor[] Init() => new[]
        {
            Tensor.FromArray(Enumerable.Range(0, 3 * 2 * 3 * 3).Select(i => Math.Sin(i * 0.7) * 0.3).ToArray(), 3, 2, 3, 3).RequiresGrad_(),
            Tensor.FromArray(new[] { 0.1, -0.2, 0.05 }, 3).RequiresGrad_(),
            Tensor.FromArray(Enumerable.Range(0, 3 * 9).Select(i => Math.Cos(i * 1.1) * 0.2).ToArray(), 27, 1).RequiresGrad_(),
        };
        static Tensor Loss(Tensor[] w, Tensor x)
        {
            using var h = Functional.Conv2d(x, w[0], w[1]);
            using var r = h.Relu();
            using var flat = r.Reshape(x.Shape[0], 27);
            using var y = flat.Mm(w[2]);
            using var err = y - 1.0;
            using var sq = err * err;
            return sq.Mean();
        }
        static double[] Train(ProcessGroup? group, int first, int count)
        {
            var w = Init();
            using var sgd = new Sgd(w, 0.05, momentum: 0.9, weightDecay: 1e-4);
            using var reducer = group is null ? null : new GradientReducer(group, w);
            for (int step = 0; step < Steps; step++)
            {
                sgd.ZeroGrad();
                using var x = Images(step, first, count);
                reducer?.PrepareForForward();
                using var loss = Loss(w, x);
                reducer?.PrepareForBackward(loss);
                loss.Backward();
                sgd.Step();
            }
            var result = w.SelectMany(t => t.ToArray<double>()).ToArray();
            foreach (var t in w) t.Dispose();
            return result;
        }
        var single = Train(null, 0, 4);
        var ranks = RunRanks(2, group => Train(group, 2 * group.Rank, 2));
        var start = Init().SelectMany(t => { var a = t.ToArray<double>(); t.Dispose(); return a; }).ToArray();
        Assert.IsTrue(single.Zip(start, (a, b) => Math.Abs(a - b)).Max() > 1e-3, "the steps move the weights");
        foreach (var weights in ranks)
            for (int i = 0; i < single.Length; i++)
                Assert.AreEqual(single[i], weights[i], 1e-12 * Math.Max(1, Math.Abs(single[i])), $"weight {i}");
    }

    [TestMethod]
    public void RanksWithDifferentModelsFailWithAClearError()
    {
        var e = Assert.ThrowsException<AggregateException>(() => RunRanks(2, group =>
        {
            using var w = Tensor.Zeros(group.Rank == 0 ? new long[] { 3 } : new long[] { 4 }, DType.Float64).RequiresGrad_();
            using var reducer = new GradientReducer(group, new[] { w });
            return 0;
        }, TimeSpan.FromSeconds(20)));
        foreach (var inner in e.InnerExceptions)
        {
            Assert.IsInstanceOfType<DistributedException>(inner);
            StringAssert.Contains(inner.Message, "gradient reducer");
        }
    }

    /// <summary>A rank that leaves (its process died) must make the others' next collective fail, quickly and clearly, not hang.</summary>
    [TestMethod]
    public void APeerThatLeavesMakesTheNextCollectiveFailInsteadOfHanging()
    {
        var clock = Stopwatch.StartNew();
        var e = Assert.ThrowsException<DistributedException>(() => RunRanks(2, group =>
        {
            if (group.Rank == 1)
            {
                group.Dispose();  // its connections close, as when the process dies
                return 0;
            }
            Thread.Sleep(500);
            using var t = Tensor.Ones(new long[] { 4 });
            group.AllReduce(new[] { t });
            return 1;
        }, TimeSpan.FromSeconds(30), finalBarrier: false));
        StringAssert.Contains(e.Message, "all-reduce failed on rank 0 of 2");
        Assert.IsTrue(clock.Elapsed < TimeSpan.FromSeconds(25), $"took {clock.Elapsed}");
    }
}
