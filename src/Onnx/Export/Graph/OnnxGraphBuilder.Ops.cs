using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Graph;

// The operators the exporters write, one helper per ONNX operator (opset 17 signatures).
internal sealed partial class OnnxGraphBuilder
{
    public string Add(string a, string b) => Op("Add", new[] { a, b }, "add");
    public string Sub(string a, string b) => Op("Sub", new[] { a, b }, "sub");
    public string Mul(string a, string b) => Op("Mul", new[] { a, b }, "mul");
    public string Div(string a, string b) => Op("Div", new[] { a, b }, "div");
    public string Min(string a, string b) => Op("Min", new[] { a, b }, "min");
    public string Max(string a, string b) => Op("Max", new[] { a, b }, "max");
    public string Exp(string x) => Op("Exp", new[] { x }, "exp");
    public string Log(string x) => Op("Log", new[] { x }, "log");
    public string Sqrt(string x) => Op("Sqrt", new[] { x }, "sqrt");
    public string Floor(string x) => Op("Floor", new[] { x }, "floor");
    public string Relu(string x) => Op("Relu", new[] { x }, "relu");
    public string Sigmoid(string x) => Op("Sigmoid", new[] { x }, "sigmoid");
    public string Reciprocal(string x) => Op("Reciprocal", new[] { x }, "reciprocal");
    public string Neg(string x) => Op("Neg", new[] { x }, "neg");
    public string Softmax(string x, int axis) => Op("Softmax", new[] { x }, "softmax", ("axis", axis));
    public string Equal(string a, string b) => Op("Equal", new[] { a, b }, "eq");
    public string Greater(string a, string b) => Op("Greater", new[] { a, b }, "gt");
    public string GreaterOrEqual(string a, string b) => Op("GreaterOrEqual", new[] { a, b }, "ge");
    public string Less(string a, string b) => Op("Less", new[] { a, b }, "lt");
    public string And(string a, string b) => Op("And", new[] { a, b }, "and");
    public string Where(string cond, string a, string b) => Op("Where", new[] { cond, a, b }, "where");
    public string Cast(string x, DataType to) => Op("Cast", new[] { x }, "cast", ("to", (long)to));
    public string Identity(string x) => Op("Identity", new[] { x }, "id");

    public string Shape(string x) => Op("Shape", new[] { x }, "shape");
    /// <summary>Shape(x)[start:end] (opset 15 attributes).</summary>
    public string Shape(string x, long start, long end) => Op("Shape", new[] { x }, "shape", ("start", start), ("end", end));
    /// <summary>The size of one dimension as a 1-element int64 vector.</summary>
    public string Dim(string x, long axis) => Shape(x, axis, axis + 1);
    public string Size(string x) => Op("Size", new[] { x }, "size");
    public string Reshape(string x, string shape) => Op("Reshape", new[] { x, shape }, "reshape");
    public string Reshape(string x, params long[] shape) => Reshape(x, Ints(shape));
    public string Transpose(string x, params long[] perm) => Op("Transpose", new[] { x }, "transpose", ("perm", perm));
    public string Unsqueeze(string x, params long[] axes) => Op("Unsqueeze", new[] { x, Ints(axes) }, "unsqueeze");
    public string Squeeze(string x, params long[] axes) => Op("Squeeze", new[] { x, Ints(axes) }, "squeeze");
    public string Concat(int axis, params string[] parts) => Op("Concat", parts, "concat", ("axis", (long)axis));
    public string Flatten(string x, int axis) => Op("Flatten", new[] { x }, "flatten", ("axis", (long)axis));
    public string Expand(string x, string shape) => Op("Expand", new[] { x, shape }, "expand");
    public string Tile(string x, string repeats) => Op("Tile", new[] { x, repeats }, "tile");
    public string Gather(string x, string indices, int axis = 0) => Op("Gather", new[] { x, indices }, "gather", ("axis", (long)axis));
    public string GatherElements(string x, string indices, int axis) => Op("GatherElements", new[] { x, indices }, "gather_el", ("axis", (long)axis));
    public string Compress(string x, string condition, int axis = 0) => Op("Compress", new[] { x, condition }, "compress", ("axis", (long)axis));
    public string NonZero(string x) => Op("NonZero", new[] { x }, "nonzero");
    public string ScatterND(string data, string indices, string updates) => Op("ScatterND", new[] { data, indices, updates }, "scatter");
    public string ConstantOfShape(string shape, float value = 0f) =>
        Op("ConstantOfShape", new[] { shape }, "zeros", ("value", FloatTensor(value)));

    /// <summary>x[starts:ends] along <paramref name="axes"/>, the bounds given as int64 vectors (names).</summary>
    public string Slice(string x, string starts, string ends, string axes, string? steps = null) =>
        Op("Slice", steps is null ? new[] { x, starts, ends, axes } : new[] { x, starts, ends, axes, steps }, "slice");
    /// <summary>x[start:end] along one axis with constant bounds.</summary>
    public string Slice(string x, long axis, long start, long end) => Slice(x, Ints(start), Ints(end), Ints(axis));
    /// <summary>x[start:end:step] along one axis with constant bounds.</summary>
    public string Slice(string x, long axis, long start, long end, long step) => Slice(x, Ints(start), Ints(end), Ints(axis), Ints(step));

    public string ReduceMin(string x, long[] axes, bool keepDims = false) => Op("ReduceMin", new[] { x }, "rmin", ("axes", axes), ("keepdims", keepDims ? 1L : 0L));
    public string ReduceMax(string x, long[] axes, bool keepDims = false) => Op("ReduceMax", new[] { x }, "rmax", ("axes", axes), ("keepdims", keepDims ? 1L : 0L));
    /// <summary>ReduceMax over every element (a 0-d result).</summary>
    public string ReduceMaxAll(string x) => Op("ReduceMax", new[] { x }, "rmax", ("keepdims", 0L));
    public string ReduceSum(string x, long[] axes, bool keepDims = false) => Op("ReduceSum", new[] { x, Ints(axes) }, "rsum", ("keepdims", keepDims ? 1L : 0L));
    public string CumSum(string x, string axis, bool exclusive = false) => Op("CumSum", new[] { x, axis }, "cumsum", ("exclusive", exclusive ? 1L : 0L));
    public string Range(string start, string limit, string delta) => Op("Range", new[] { start, limit, delta }, "range");
    public string OneHot(string indices, string depth, string values) => Op("OneHot", new[] { indices, depth, values }, "onehot", ("axis", -1L));

    /// <summary>TopK along <paramref name="axis"/>; returns (values, indices). Ties keep the lower index first (ONNX spec).</summary>
    public (string Values, string Indices) TopK(string x, string k, int axis, bool largest = true)
    {
        var outs = Ops("TopK", new[] { x, k }, 2, "topk", ("axis", (long)axis), ("largest", largest ? 1L : 0L), ("sorted", 1L));
        return (outs[0], outs[1]);
    }

    public string Conv(string x, string weight, string? bias, long[] kernel, long[] strides, long[] pads, long[] dilations, long group) =>
        Op("Conv", bias is null ? new[] { x, weight } : new[] { x, weight, bias }, "conv",
            ("kernel_shape", kernel), ("strides", strides), ("pads", pads), ("dilations", dilations), ("group", group));

    public string Gemm(string x, string weight, string? bias) =>
        Op("Gemm", bias is null ? new[] { x, weight } : new[] { x, weight, bias }, "gemm", ("transB", 1L));

    /// <summary>Resize to explicit sizes (int64 [rank]) with the given mode and coordinate mapping.</summary>
    public string ResizeTo(string x, string sizes, string mode, string coordinates, string nearestMode = "round_prefer_floor") =>
        Op("Resize", new[] { x, "", "", sizes }, "resize", ("mode", mode), ("coordinate_transformation_mode", coordinates), ("nearest_mode", nearestMode));

    /// <summary>Resize by constant scales (float32 [rank]).</summary>
    public string ResizeBy(string x, float[] scales, string mode, string coordinates) =>
        Op("Resize", new[] { x, "", Float(scales, new long[] { scales.Length }) }, "resize", ("mode", mode), ("coordinate_transformation_mode", coordinates));

    private static TensorProto FloatTensor(float value)
    {
        var t = new TensorProto { DataType = (int)DataType.Float };
        t.Dims.Add(1);
        t.FloatData.Add(value);
        return t;
    }
}
