using System.Text.Json;
using MLNetSeg.Torch;

namespace MLNetSeg.Torch.Tests;

/// <summary>
/// Bad calls raise TorchException carrying torch's own message. The expected messages were
/// recorded from PyTorch 1.13 running the same calls (tools/fixtures/gen_ops.py, errors()).
/// </summary>
[TestClass]
public class TensorOpsErrorTests
{
    private static readonly Lazy<Dictionary<string, string>> Messages = new(() =>
    {
        var path = Path.Combine(AppContext.BaseDirectory, "fixtures", "ops", "errors", "messages.json");
        return JsonSerializer.Deserialize<Dictionary<string, string>>(File.ReadAllText(path))
            ?? throw new InvalidDataException($"{path}: empty");
    });

    /// <summary>x = arange(24.).reshape(2, 3, 4), float32 like torch's default.</summary>
    private static Tensor X() => Tensor.Arange(0, 24, 1, DType.Float32).Reshape(2, 3, 4);

    private static Tensor Longs(params long[] values) => Tensor.FromArray(values, values.Length);

    private static readonly Dictionary<string, Action> Calls = new()
    {
        ["gather_float_index"] = () => X().Gather(0, Tensor.Zeros(new long[] { 2, 3, 4 })),
        ["gather_index_out_of_bounds"] = () => X().Gather(0, Longs(9).Reshape(1, 1, 1)),
        ["select_out_of_range"] = () => X().Select(0, 5),
        ["getitem_out_of_range"] = () => _ = X()[5],
        ["getitem_negative_out_of_range"] = () => _ = X()[.., -4],
        ["getitem_too_many"] = () => _ = X()[1, 2, 3, 4],
        ["getitem_tensor_out_of_range"] = () => _ = X()[Longs(7)],
        ["getitem_mask_shape"] = () => _ = X()[Tensor.FromArray(new[] { true, false, true }, 3)],
        ["index_select_out_of_range"] = () => X().IndexSelect(0, Longs(7)),
        ["index_put_dtype_mismatch"] = () => X().Clone().IndexPut_(new[] { Longs(0) }, Tensor.Zeros(new long[] { 3, 4 }, DType.Float64)),
        ["cat_shape_mismatch"] = () => Tensor.Cat(new[] { X(), Tensor.Zeros(new long[] { 2, 2, 2 }) }),
        ["topk_k_too_large"] = () => X().TopK(9),
        ["bmm_shape_mismatch"] = () => X().Bmm(X()),
    };

    public static IEnumerable<object[]> Cases() => Calls.Keys.Select(k => new object[] { k });

    [TestMethod]
    [DynamicData(nameof(Cases), DynamicDataSourceType.Method)]
    public void RaisesTorchsMessage(string name)
    {
        using var scope = DisposeScope.Enter();
        Assert.IsTrue(Messages.Value.TryGetValue(name, out var expected), $"messages.json has no entry '{name}' (rerun gen_ops.py)");
        var e = Assert.ThrowsException<TorchException>(Calls[name]);
        StringAssert.StartsWith(e.Message, expected, $"{name}: full message was: {e.Message}");
    }

    [TestMethod]
    public void EveryRecordedMessageIsChecked()
    {
        var unchecked_ = Messages.Value.Keys.Where(k => !Calls.ContainsKey(k)).ToArray();
        Assert.AreEqual(0, unchecked_.Length, $"messages without a C# call: {string.Join(", ", unchecked_)}");
    }

    [TestMethod]
    public void NonPositiveSliceStepIsRejectedLikePython()
    {
        var e = Assert.ThrowsException<ArgumentOutOfRangeException>(() => TensorIndex.Slice(0, 4, 0));
        StringAssert.Contains(e.Message, "step must be greater than zero");
    }

    [TestMethod]
    public void SecondEllipsisIsRejected()
    {
        using var scope = DisposeScope.Enter();
        var e = Assert.ThrowsException<TorchException>(() => X()[TensorIndex.Ellipsis, 0, TensorIndex.Ellipsis]);
        StringAssert.Contains(e.Message, "single ellipsis");
    }

    [TestMethod]
    public void ClampWithoutBoundsIsAnArgumentError()
    {
        using var scope = DisposeScope.Enter();
        Assert.ThrowsException<ArgumentException>(() => X().Clamp());
    }
}
