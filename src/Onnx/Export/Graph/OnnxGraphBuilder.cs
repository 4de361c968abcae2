using Google.Protobuf;
using Onnx;

namespace MLNetSeg.Onnx.Graph;

/// <summary>
/// Writes an ONNX graph node by node: values are named automatically (a readable hint plus a
/// counter), constants become initializers of the outermost graph, and a Loop body is a child
/// builder that shares the names and the constants (ONNX lets a subgraph read outer values).
/// The typed helpers below are the operators the exporters use, with the opset-17 signatures
/// (axes of Unsqueeze/Squeeze/ReduceSum as inputs, Slice bounds as inputs).
/// </summary>
internal sealed partial class OnnxGraphBuilder
{
    private readonly OnnxGraphBuilder root;
    private readonly Dictionary<string, int> hintCounts;
    private readonly Dictionary<string, string> constantCache;
    private readonly Dictionary<string, (string Name, float[] Data, long[] Shape)> weightsByHint = new(StringComparer.Ordinal);

    /// <summary>A top-level graph.</summary>
    public OnnxGraphBuilder(string name)
    {
        Graph = new GraphProto { Name = name };
        root = this;
        hintCounts = new Dictionary<string, int>(StringComparer.Ordinal);
        constantCache = new Dictionary<string, string>(StringComparer.Ordinal);
    }

    private OnnxGraphBuilder(OnnxGraphBuilder parent, string name)
    {
        Graph = new GraphProto { Name = name };
        root = parent.root;
        hintCounts = root.hintCounts;
        constantCache = root.constantCache;
    }

    /// <summary>The graph written so far.</summary>
    public GraphProto Graph { get; }

    /// <summary>A builder for a subgraph (a Loop or If body) of this graph.</summary>
    public OnnxGraphBuilder Subgraph(string name) => new(this, name);

    /// <summary>A fresh value name starting with <paramref name="hint"/>.</summary>
    public string Fresh(string hint)
    {
        int n = hintCounts.TryGetValue(hint, out var c) ? c + 1 : 0;
        hintCounts[hint] = n;
        return n == 0 ? hint : $"{hint}_{n}";
    }

    /// <summary>Declares a graph input. A null dimension is dynamic (named by <paramref name="dimNames"/> when given).</summary>
    public string Input(string name, TensorProto.Types.DataType type, long?[] dims, string?[]? dimNames = null)
    {
        Graph.Input.Add(ValueInfo(name, type, dims, dimNames));
        hintCounts[name] = hintCounts.TryGetValue(name, out var c) ? c + 1 : 0;
        return name;
    }

    /// <summary>Declares a graph output: <paramref name="value"/> is renamed to <paramref name="name"/> through an Identity node.</summary>
    public void Output(string value, string name, TensorProto.Types.DataType type, long?[] dims, string?[]? dimNames = null)
    {
        if (value != name) Graph.Node.Add(MakeNode("Identity", new[] { value }, new[] { name }, Array.Empty<(string, object)>()));
        Graph.Output.Add(ValueInfo(name, type, dims, dimNames));
    }

    /// <summary>Declares a subgraph input or output by name only (types as ONNX requires them in Loop bodies).</summary>
    public void BodyInput(string name, TensorProto.Types.DataType type, long?[] dims) => Graph.Input.Add(ValueInfo(name, type, dims, null));

    /// <summary>Declares a subgraph output.</summary>
    public void BodyOutput(string name, TensorProto.Types.DataType type, long?[]? dims) =>
        Graph.Output.Add(dims is null ? new ValueInfoProto { Name = name, Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type } } }
                                      : ValueInfo(name, type, dims, null));

    /// <summary>Adds a node with one output; returns the output's name.</summary>
    public string Op(string opType, IReadOnlyList<string> inputs, string? hint = null, params (string Name, object Value)[] attributes) =>
        Ops(opType, inputs, 1, hint, attributes)[0];

    /// <summary>Adds a node with <paramref name="outputCount"/> outputs; returns their names.</summary>
    public string[] Ops(string opType, IReadOnlyList<string> inputs, int outputCount, string? hint = null, params (string Name, object Value)[] attributes)
    {
        var outputs = new string[outputCount];
        for (int i = 0; i < outputCount; i++) outputs[i] = Fresh(hint ?? opType.ToLowerInvariant());
        Graph.Node.Add(MakeNode(opType, inputs, outputs, attributes));
        return outputs;
    }

    /// <summary>Adds a node writing to the given output names (Loop bodies name their outputs).</summary>
    public void OpTo(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, params (string Name, object Value)[] attributes) =>
        Graph.Node.Add(MakeNode(opType, inputs, outputs, attributes));

    private NodeProto MakeNode(string opType, IReadOnlyList<string> inputs, IReadOnlyList<string> outputs, (string Name, object Value)[] attributes)
    {
        var node = new NodeProto { OpType = opType, Name = Fresh("n_" + opType) };
        node.Input.AddRange(inputs);
        node.Output.AddRange(outputs);
        foreach (var (name, value) in attributes) node.Attribute.Add(Attribute(name, value));
        return node;
    }

    private static AttributeProto Attribute(string name, object value)
    {
        var a = new AttributeProto { Name = name };
        switch (value)
        {
            case int i: a.Type = AttributeProto.Types.AttributeType.Int; a.I = i; break;
            case long l: a.Type = AttributeProto.Types.AttributeType.Int; a.I = l; break;
            case float f: a.Type = AttributeProto.Types.AttributeType.Float; a.F = f; break;
            case double d: a.Type = AttributeProto.Types.AttributeType.Float; a.F = (float)d; break;
            case string s: a.Type = AttributeProto.Types.AttributeType.String; a.S = ByteString.CopyFromUtf8(s); break;
            case long[] ls: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ls); break;
            case int[] ints: a.Type = AttributeProto.Types.AttributeType.Ints; a.Ints.AddRange(ints.Select(v => (long)v)); break;
            case float[] fs: a.Type = AttributeProto.Types.AttributeType.Floats; a.Floats.AddRange(fs); break;
            case GraphProto g: a.Type = AttributeProto.Types.AttributeType.Graph; a.G = g; break;
            case TensorProto t: a.Type = AttributeProto.Types.AttributeType.Tensor; a.T = t; break;
            default: throw new ArgumentException($"ONNX attribute '{name}': unsupported value type {value?.GetType().Name ?? "null"}");
        }
        return a;
    }

    private static ValueInfoProto ValueInfo(string name, TensorProto.Types.DataType type, long?[] dims, string?[]? dimNames)
    {
        var shape = new TensorShapeProto();
        for (int i = 0; i < dims.Length; i++)
        {
            var dim = new TensorShapeProto.Types.Dimension();
            if (dims[i] is { } v) dim.DimValue = v;
            else if (dimNames?[i] is { } param) dim.DimParam = param;
            shape.Dim.Add(dim);
        }
        return new ValueInfoProto
        {
            Name = name,
            Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)type, Shape = shape } },
        };
    }

    // ---- Initializers (always in the outermost graph) ----

    /// <summary>A float32 initializer of the given shape. A module applied several times (the RPN head, once per
    /// FPN level) writes the same values under the same hint: they are stored once and shared.</summary>
    public string Weight(string hint, float[] data, long[] shape)
    {
        if (data.Length != shape.Aggregate(1L, (a, b) => a * b))
            throw new ArgumentException($"initializer '{hint}': {data.Length} values for shape [{string.Join(", ", shape)}]");
        if (root.weightsByHint.TryGetValue(hint, out var written) && written.Shape.SequenceEqual(shape) && written.Data.AsSpan().SequenceEqual(data))
            return written.Name;
        var name = Fresh(hint);
        root.weightsByHint[hint] = (name, data, shape);
        var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
        t.Dims.AddRange(shape);
        var bytes = new byte[data.Length * sizeof(float)];
        Buffer.BlockCopy(data, 0, bytes, 0, bytes.Length);
        t.RawData = ByteString.CopyFrom(bytes);
        root.Graph.Initializer.Add(t);
        return name;
    }

    /// <summary>An int64 constant (a 1-D tensor, or a scalar when <paramref name="scalar"/>), shared when repeated.</summary>
    public string Int64(long[] values, bool scalar = false) =>
        Cached($"i64{(scalar ? "s" : "")}:{string.Join(",", values)}", () =>
        {
            if (scalar && values.Length != 1) throw new ArgumentException("a scalar constant has one value");
            var name = Fresh(scalar ? "c_i64" : "c_i64v");
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Int64 };
            if (!scalar) t.Dims.Add(values.Length);
            t.Int64Data.AddRange(values);
            root.Graph.Initializer.Add(t);
            return name;
        });

    /// <summary>A 1-D int64 constant.</summary>
    public string Ints(params long[] values) => Int64(values);

    /// <summary>A 0-d int64 constant.</summary>
    public string Int(long value) => Int64(new[] { value }, scalar: true);

    /// <summary>A float32 constant of the given shape (a scalar for an empty shape), shared when repeated.</summary>
    public string Float(float[] values, long[] shape) =>
        Cached($"f32:{string.Join(",", shape)}:{string.Join(",", values.Select(v => BitConverter.SingleToInt32Bits(v)))}", () =>
        {
            var name = Fresh("c_f32");
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Float };
            t.Dims.AddRange(shape);
            t.FloatData.AddRange(values);
            root.Graph.Initializer.Add(t);
            return name;
        });

    /// <summary>A 0-d float32 constant.</summary>
    public string Float(float value) => Float(new[] { value }, Array.Empty<long>());

    /// <summary>A 0-d float64 constant.</summary>
    public string Double(double value) =>
        Cached($"f64:{BitConverter.DoubleToInt64Bits(value)}", () =>
        {
            var name = Fresh("c_f64");
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Double };
            t.DoubleData.Add(value);
            root.Graph.Initializer.Add(t);
            return name;
        });

    /// <summary>A 0-d bool constant.</summary>
    public string Bool(bool value) =>
        Cached($"bool:{value}", () =>
        {
            var name = Fresh("c_bool");
            var t = new TensorProto { Name = name, DataType = (int)TensorProto.Types.DataType.Bool };
            t.Int32Data.Add(value ? 1 : 0);
            root.Graph.Initializer.Add(t);
            return name;
        });

    private string Cached(string key, Func<string> make)
    {
        if (!constantCache.TryGetValue(key, out var name))
        {
            name = make();
            constantCache[key] = name;
        }
        return name;
    }
}
