using System.Text.Json;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Tests.Parity;

namespace MLNetSeg.Torch.Tests.Nn;

/// <summary>
/// Module registration, naming, state dicts, modes and devices, and the layers' behaviour,
/// against fixtures from tools/fixtures/gen_nn.py (torch 1.13, torchvision 0.14) in
/// tests/fixtures/nn/modules.
/// </summary>
[TestClass]
public class ModuleTests
{
    private const string Area = "nn/modules";

    /// <summary>The nested model gen_nn.py builds for state_dict_names.</summary>
    private sealed class Block : Module<Tensor, Tensor>
    {
        public Block()
        {
            Conv1 = RegisterModule("conv1", new Conv2d(3, 4, 3, bias: false));
            Bn1 = RegisterModule("bn1", new BatchNorm2d(4));
            RegisterModule("relu", new ReLU());
            RegisterModule("layers", new ModuleList<Module> { new Conv2d(4, 4, 1), new GroupNorm(2, 4) });
            var heads = new ModuleDict<Module> { { "cls", new Linear(4, 2) }, { "frozen", new FrozenBatchNorm2d(4) } };
            RegisterModule("heads", heads);
            RegisterModule("seq", new Sequential(new ConvTranspose2d(4, 2, 2, stride: 2), new ReLU(), new MaxPool2d(2)));
        }

        public Conv2d Conv1 { get; }
        public BatchNorm2d Bn1 { get; }

        public override Tensor Forward(Tensor input) => Functional.Relu(Bn1.Forward(Conv1.Forward(input)));
    }

    private static Sequential NestedModel() => new(new (string, Module<Tensor, Tensor>)[] { ("body", new Block()), ("head", new Linear(2, 3, bias: false)) });

    private static string[] Strings(JsonElement e) => e.EnumerateArray().Select(x => x.GetString()!).ToArray();

    [TestMethod]
    public void StateDictNamesOrderAndShapesMatchTorch()
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, "state_dict_names");
        using var model = NestedModel();
        var sd = model.StateDict();
        CollectionAssert.AreEqual(Strings(f.Param("keys")), sd.Keys.ToArray(), "state_dict keys (in order)");
        var shapes = f.Param("shapes").EnumerateArray().Select(s => string.Join(",", s.EnumerateArray().Select(v => v.GetInt64()))).ToArray();
        CollectionAssert.AreEqual(shapes, sd.Values.Select(t => string.Join(",", t.Shape)).ToArray(), "state_dict shapes");
        CollectionAssert.AreEqual(Strings(f.Param("parameters")), model.NamedParameters().Select(p => p.Name).ToArray(), "named_parameters");
        CollectionAssert.AreEqual(Strings(f.Param("buffers")), model.NamedBuffers().Select(p => p.Name).ToArray(), "named_buffers");
    }

    [TestMethod]
    public void DefaultInitialisationDrawsTorchsValues()
    {
        // Same generator, same uniform_ calls in the same order ⇒ identical float32 values.
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, "default_init");
        TorchRuntime.ManualSeed((ulong)f.Long("seed"));
        using var conv = new Conv2d(3, 8, 3);
        using var linear = new Linear(10, 4);
        using var deconv = new ConvTranspose2d(4, 6, 2, stride: 2, groups: 2);
        using var convNoBias = new Conv2d(4, 4, (1, 3), bias: false);
        f.AssertOutput(conv.Weight, Tolerance.Exact, "conv.weight");
        f.AssertOutput(conv.Bias!, Tolerance.Exact, "conv.bias");
        f.AssertOutput(linear.Weight, Tolerance.Exact, "linear.weight");
        f.AssertOutput(linear.Bias!, Tolerance.Exact, "linear.bias");
        f.AssertOutput(deconv.Weight, Tolerance.Exact, "deconv.weight");
        f.AssertOutput(deconv.Bias!, Tolerance.Exact, "deconv.bias");
        f.AssertOutput(convNoBias.Weight, Tolerance.Exact, "conv_nb.weight");
        Assert.IsNull(convNoBias.Bias);
    }

    [TestMethod]
    public void InitialisersDrawTorchsValues()
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, "initialisers");
        TorchRuntime.ManualSeed((ulong)f.Long("seed"));
        var a = Init.KaimingNormal_(Tensor.Empty(new long[] { 16, 8, 3, 3 }), mode: FanMode.FanOut, nonlinearity: Nonlinearity.Relu);
        var b = Init.KaimingUniform_(Tensor.Empty(new long[] { 5, 7 }), a: 1.0);
        var c = Init.Normal_(Tensor.Empty(new long[] { 4, 6 }), std: 0.01);
        var d = Init.Uniform_(Tensor.Empty(new long[] { 3, 5 }), -0.2, 0.7);
        var e = Init.XavierUniform_(Tensor.Empty(new long[] { 6, 4, 2, 2 }), gain: 2.0);
        f.AssertOutput(a, Tolerance.Exact, "kaiming_normal_fan_out_relu");
        f.AssertOutput(b, Tolerance.Exact, "kaiming_uniform_a1");
        f.AssertOutput(c, Tolerance.Exact, "normal_std001");
        f.AssertOutput(d, Tolerance.Exact, "uniform");
        f.AssertOutput(e, Tolerance.Exact, "xavier_uniform_gain2");
        Assert.AreEqual(Math.Sqrt(2), Init.CalculateGain(Nonlinearity.Relu), 1e-15);
        Assert.AreEqual(Math.Sqrt(2.0 / 6), Init.CalculateGain(Nonlinearity.LeakyRelu, Math.Sqrt(5)), 1e-15);
    }

    [DataTestMethod]
    [DataRow("batchnorm2d_momentum")]
    [DataRow("batchnorm2d_cumulative")]
    public void BatchNorm2dTracksRunningStatisticsLikeTorch(string name)
    {
        // float64 end to end: rtol 1e-10 / atol 1e-12 (same kernels; only summation order may differ).
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, name);
        double? momentum = f.Param("momentum").ValueKind == JsonValueKind.Number ? f.Double("momentum") : null;
        using var bn = new BatchNorm2d(3, eps: f.Double("eps"), momentum: momentum, dtype: DType.Float64);
        using (NoGradScope.Enter())
        {
            bn.Weight!.CopyFrom(f.Input("weight"));
            bn.Bias!.CopyFrom(f.Input("bias"));
        }
        bn.Train();
        for (int i = 0; i < 3; i++) bn.Forward(f.Input($"batch{i}"));
        bn.Eval();
        var probe = bn.Forward(f.Input("probe"));
        f.AssertOutput(bn.RunningMean!, Tolerance.Float64, "running_mean");
        f.AssertOutput(bn.RunningVar!, Tolerance.Float64, "running_var");
        f.AssertOutput(bn.NumBatchesTracked!, Tolerance.Exact, "num_batches_tracked");
        f.AssertOutput(probe, Tolerance.Float64, "eval_out");
    }

    [TestMethod]
    public void FrozenBatchNorm2dMatchesTorchvision()
    {
        using var scope = DisposeScope.Enter();
        var f = ParityFixture.Load(Area, "frozen_batch_norm");
        using var bn = new FrozenBatchNorm2d(4, eps: f.Double("eps"), dtype: DType.Float64);
        bn.LoadStateDict(new Dictionary<string, Tensor>
        {
            ["weight"] = f.Input("weight"), ["bias"] = f.Input("bias"), ["running_mean"] = f.Input("running_mean"),
            ["running_var"] = f.Input("running_var"),
            ["num_batches_tracked"] = Tensor.Scalar(5, DType.Int64),  // torchvision drops it; so must we
        });
        Assert.AreEqual(0, bn.Parameters().Count(), "FrozenBatchNorm2d has buffers only");
        var x = f.Input("x", requiresGrad: true);
        var y = bn.Forward(x);
        f.AssertOutput(y, Tolerance.Float64);
        f.AssertGradients(new Dictionary<string, Tensor> { ["x"] = x }, y, Tolerance.Float64);
    }

    [TestMethod]
    public void LoadStateDictNamesMissingUnexpectedAndMisShapedKeys()
    {
        using var scope = DisposeScope.Enter();
        using var source = NestedModel();
        using var target = NestedModel();
        var sd = source.StateDict();

        sd.Remove("body.bn1.running_var");
        sd["body.extra.weight"] = Tensor.Zeros(new long[] { 1 });
        var e = Assert.ThrowsException<StateDictException>(() => target.LoadStateDict(sd));
        CollectionAssert.AreEqual(new[] { "body.bn1.running_var" }, e.MissingKeys.ToArray());
        CollectionAssert.AreEqual(new[] { "body.extra.weight" }, e.UnexpectedKeys.ToArray());
        StringAssert.Contains(e.Message, "\"body.bn1.running_var\"");
        StringAssert.Contains(e.Message, "\"body.extra.weight\"");

        var loose = target.LoadStateDict(sd, strict: false);
        CollectionAssert.AreEqual(new[] { "body.bn1.running_var" }, loose.MissingKeys.ToArray());
        CollectionAssert.AreEqual(new[] { "body.extra.weight" }, loose.UnexpectedKeys.ToArray());

        sd = source.StateDict();
        sd["body.layers.0.weight"] = Tensor.Zeros(new long[] { 4, 4, 3, 3 });
        e = Assert.ThrowsException<StateDictException>(() => target.LoadStateDict(sd, strict: false));
        Assert.AreEqual(1, e.SizeMismatches.Count);
        StringAssert.Contains(e.Message, "size mismatch for body.layers.0.weight");
        StringAssert.Contains(e.Message, "[4, 4, 3, 3]");
        StringAssert.Contains(e.Message, "[4, 4, 1, 1]");
    }

    [TestMethod]
    public void LoadStateDictCopiesInPlaceAndAcceptsLegacyBatchNorm()
    {
        using var scope = DisposeScope.Enter();
        using var source = NestedModel();
        using var target = NestedModel();
        var weightBefore = target.NamedParameters().First(p => p.Name == "body.conv1.weight").Parameter;
        var sd = source.StateDict();
        sd.Remove("body.bn1.num_batches_tracked");  // checkpoints from before PyTorch 0.4.1 lack it
        var result = target.LoadStateDict(sd);
        Assert.AreEqual(0, result.MissingKeys.Count);
        var weightAfter = target.NamedParameters().First(p => p.Name == "body.conv1.weight").Parameter;
        Assert.AreSame(weightBefore, weightAfter, "loading must not replace parameter objects (optimizers hold them)");
        foreach (var (name, value) in source.StateDict())
            Assert.IsTrue(value.Equal(target.StateDict()[name]), $"{name} was not copied");
        Assert.IsTrue(weightAfter.RequiresGrad && weightAfter.IsLeaf);
    }

    [TestMethod]
    public void ParametersOutliveTheDisposeScopeTheyWereCreatedIn()
    {
        Conv2d conv;
        using (DisposeScope.Enter())
        {
            conv = new Conv2d(2, 3, 3, padding: 1);
            using var x = Tensor.Ones(new long[] { 1, 2, 4, 4 });
        }
        Assert.IsFalse(conv.Weight.IsDisposed);
        using var scope = DisposeScope.Enter();
        var y = conv.Forward(Tensor.Ones(new long[] { 1, 2, 4, 4 }));
        CollectionAssert.AreEqual(new long[] { 1, 3, 4, 4 }, y.Shape);
        conv.Dispose();
        Assert.IsTrue(conv.Weight.IsDisposed);
    }

    [TestMethod]
    public void ToCastsInPlaceKeepingIdentityAndIntegerBuffers()
    {
        using var scope = DisposeScope.Enter();
        using var model = NestedModel();
        var weight = model.Parameters().First();
        var before = weight.Detach().Double();
        model.To(DType.Float64);
        Assert.AreSame(weight, model.Parameters().First());
        Assert.AreEqual(DType.Float64, weight.DType);
        Assert.IsTrue(weight.RequiresGrad);
        Assert.IsTrue(weight.Equal(before), "values survive the cast (float32 → float64 is exact)");
        var buffers = model.NamedBuffers().ToDictionary(b => b.Name, b => b.Buffer);
        Assert.AreEqual(DType.Float64, buffers["body.bn1.running_mean"].DType);
        Assert.AreEqual(DType.Int64, buffers["body.bn1.num_batches_tracked"].DType);
        var y = model[0].Forward(Tensor.Rand(new long[] { 2, 3, 6, 6 }, DType.Float64));
        Assert.AreEqual(DType.Float64, y.DType);
    }

    [TestMethod]
    public void TrainAndEvalSwitchBatchNormStatistics()
    {
        using var scope = DisposeScope.Enter();
        using var bn = new BatchNorm2d(2);
        var x = Tensor.Randn(new long[] { 4, 2, 3, 3 }) * 3 + 2;
        Assert.IsTrue(bn.Training);
        var train = bn.Forward(x);
        Assert.AreEqual(1, bn.NumBatchesTracked!.ItemLong());
        bn.Eval();
        Assert.IsFalse(bn.Training);
        var eval = bn.Forward(x);
        Assert.AreEqual(1, bn.NumBatchesTracked.ItemLong(), "eval must not count batches");
        Assert.IsFalse(train.AllClose(eval), "eval uses running stats, training the batch's");
        using var seq = new Sequential(new Conv2d(2, 2, 1), new BatchNorm2d(2));
        seq.Eval();
        Assert.IsTrue(seq.Modules().All(m => !m.Training), "Eval propagates to children");
        seq.Train();
        Assert.IsTrue(seq.Modules().All(m => m.Training));
    }

    [TestMethod]
    public void ZeroGradDropsOrZeroesGradients()
    {
        using var scope = DisposeScope.Enter();
        using var lin = new Linear(3, 2);
        new Op("sum").Invoke(lin.Forward(Tensor.Ones(new long[] { 4, 3 }))).Backward();
        Assert.IsNotNull(lin.Weight.Grad);
        lin.ZeroGrad(setToNone: false);
        Assert.AreEqual(0.0, lin.Weight.Grad!.Abs().Sum().ItemDouble());
        lin.ZeroGrad();
        Assert.IsNull(lin.Weight.Grad);
        Assert.IsNull(lin.Bias!.Grad);
    }

    private sealed class BadNames : Module
    {
        public void Add(string name) => RegisterParameter(name, Tensor.Zeros(new long[] { 1 }));
        public void AddComputed() => RegisterParameter("w", Tensor.Ones(new long[] { 1 }).RequiresGrad_() * 2);
    }

    [TestMethod]
    public void RegistrationRejectsBadNamesAndNonLeafTensors()
    {
        using var scope = DisposeScope.Enter();
        using var m = new BadNames();
        m.Add("weight");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => m.Add("weight")).Message, "already registered");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => m.Add("a.b")).Message, "cannot contain '.'");
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => m.AddComputed()).Message, "leaf");
        Assert.ThrowsException<ArgumentException>(() => new Conv2d(3, 4, 3, groups: 2));
    }

    [TestMethod]
    public void SequentialChainsAndModuleContainersIndex()
    {
        using var scope = DisposeScope.Enter();
        using var seq = new Sequential(new Conv2d(1, 2, 3, padding: 1), new ReLU(), new MaxPool2d(2));
        var y = seq.Forward(Tensor.Randn(new long[] { 1, 1, 8, 8 }));
        CollectionAssert.AreEqual(new long[] { 1, 2, 4, 4 }, y.Shape);
        Assert.IsTrue(y.Ge(0).All().ItemLong() == 1, "ReLU ran before pooling");
        Assert.AreEqual(3, seq.Count);
        Assert.IsInstanceOfType(seq[1], typeof(ReLU));
        CollectionAssert.AreEqual(new[] { "0", "1", "2" }, seq.NamedChildren().Select(c => c.Name).ToArray());
        using var dict = new ModuleDict<Linear> { { "a", new Linear(2, 2) } };
        StringAssert.Contains(Assert.ThrowsException<KeyNotFoundException>(() => dict["b"]).Message, "'b'");
        Assert.AreEqual(6, dict.ParameterCount);
    }
}
