using Google.Protobuf;
using Onnx;
using DataType = Onnx.TensorProto.Types.DataType;

namespace MLNetSeg.Onnx.Quantization;

/// <summary>
/// What the QDQ transform changes in a float graph: which Conv and Gemm nodes get int8 weights, and which
/// activations get a QuantizeLinear → DequantizeLinear pair (the inputs and outputs of those nodes).
/// </summary>
/// <param name="Nodes">The quantized nodes, in graph order.</param>
/// <param name="Calibrated">The activations whose range calibration measures, in graph order.</param>
/// <param name="Inherited">Activations that take another's parameters instead (a MaxPool's output takes its input's, so ONNX Runtime can run the pool on the integers): tensor → source tensor.</param>
internal sealed record QdqPlan(IReadOnlyList<NodeProto> Nodes, IReadOnlyList<string> Calibrated, IReadOnlyDictionary<string, string> Inherited)
{
    /// <summary>Every quantized activation: the calibrated ones and the inherited ones.</summary>
    public IEnumerable<string> Activations => Calibrated.Concat(Inherited.Keys);
}

/// <summary>
/// The QDQ (QuantizeLinear / DequantizeLinear) form of a float ONNX graph, the static-quantisation format ONNX
/// Runtime's CPU provider turns into integer kernels when it optimises the graph (a Conv whose input and
/// weight come from DequantizeLinear and whose output goes to QuantizeLinear becomes QLinearConv; likewise
/// Gemm → QGemm, Add → QLinearAdd, MaxPool runs on uint8).
/// </summary>
/// <remarks>
/// <para>Which nodes: Conv and Gemm of the main graph whose weight is an initializer (not those inside Loop
/// bodies), minus the layers <see cref="OnnxQuantizationOptions.ExcludedLayers"/> names; the rest of the
/// graph (pre-processing, box decoding, NMS, RoIAlign, TopK, the predictors) stays float.</para>
/// <para>Which activations: each such node's data input, and its output — or, when the output's only reader
/// is a Relu, the Relu's output (with a zero point at the type's minimum ONNX Runtime then drops the Relu,
/// which the quantized range already clips). A MaxPool reading a quantized activation gets its output
/// quantized with the same parameters. Every reader of a quantized activation reads the dequantized value,
/// so the float graph around it sees what the integer kernels see.</para>
/// <para>Weights: int8 symmetric per output channel (Conv axis 0; Gemm's B on its output axis), bias int32
/// with scale input scale · weight scale, both as initializers dequantized by a DequantizeLinear.</para>
/// </remarks>
internal static class QdqTransform
{
    private const string Suffix = "_qdq";

    /// <summary>Finds the nodes and activations to quantize in <paramref name="model"/>'s main graph.</summary>
    public static QdqPlan Plan(ModelProto model, OnnxQuantizationOptions options)
    {
        var graph = model.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var consumers = Consumers(graph);
        var producers = new Dictionary<string, NodeProto>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var o in node.Output)
                if (o.Length > 0) producers[o] = node;
        var graphOutputs = graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);

        var nodes = new List<NodeProto>();
        foreach (var node in graph.Node)
        {
            if (!IsQuantizable(node, initializers, options)) continue;
            nodes.Add(node);
        }

        var calibrated = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        void Add(string tensor)
        {
            if (tensor.Length > 0 && !initializers.ContainsKey(tensor) && seen.Add(tensor)) calibrated.Add(tensor);
        }
        foreach (var node in nodes)
        {
            Add(node.Input[0]);
            var output = node.Output[0];
            var readers = consumers.GetValueOrDefault(output) ?? new List<NodeProto>();
            if (readers.Count == 1 && readers[0].OpType == "Relu" && !graphOutputs.Contains(output)) Add(readers[0].Output[0]);
            else Add(output);
        }

        // A MaxPool between two quantized activations: its output inherits its input's parameters.
        var inherited = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var tensor in calibrated.ToArray())
        {
            if (producers.TryGetValue(tensor, out var p) && p.OpType == "MaxPool" && seen.Contains(p.Input[0]))
            {
                inherited[tensor] = p.Input[0];
                calibrated.Remove(tensor);
            }
        }
        // Order by first appearance in the graph so calibration outputs and Q/DQ insertion follow the graph.
        var order = new Dictionary<string, int>(StringComparer.Ordinal);
        int index = 0;
        foreach (var i in graph.Input) order[i.Name] = index++;
        foreach (var node in graph.Node)
            foreach (var o in node.Output)
                order.TryAdd(o, index++);
        calibrated.Sort((a, b) => order.GetValueOrDefault(a, int.MaxValue).CompareTo(order.GetValueOrDefault(b, int.MaxValue)));
        return new QdqPlan(nodes, calibrated, inherited);
    }

    private static bool IsQuantizable(NodeProto node, Dictionary<string, TensorProto> initializers, OnnxQuantizationOptions options)
    {
        if (node.OpType is not ("Conv" or "Gemm")) return false;
        if (node.OpType == "Gemm" && !options.QuantizeGemm) return false;
        if (node.Input.Count < 2 || !initializers.TryGetValue(node.Input[1], out var weight) || weight.DataType != (int)DataType.Float) return false;
        if (node.Input.Count > 2 && node.Input[2].Length > 0
            && (!initializers.TryGetValue(node.Input[2], out var bias) || bias.DataType != (int)DataType.Float)) return false;
        if (options.ExcludedLayers.Any(prefix => weight.Name.StartsWith(prefix, StringComparison.Ordinal))) return false;
        if (node.OpType == "Gemm")
        {
            // Y = A · B(ᵀ) + C only: alpha and beta other than 1, or a transposed A, have no QGemm form here.
            foreach (var a in node.Attribute)
            {
                if (a.Name == "transA" && a.I != 0) return false;
                if (a.Name is "alpha" or "beta" && a.F != 1f) return false;
            }
            if (weight.Dims.Count != 2) return false;
        }
        return true;
    }

    /// <summary>
    /// A copy of <paramref name="model"/> with <paramref name="tensors"/> added as graph outputs (float, shape unknown),
    /// for calibration: one run gives every activation's values.
    /// </summary>
    public static ModelProto WithOutputs(ModelProto model, IEnumerable<string> tensors)
    {
        var copy = model.Clone();
        var existing = copy.Graph.Output.Select(o => o.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var t in tensors)
            if (existing.Add(t))
                copy.Graph.Output.Add(new ValueInfoProto
                {
                    Name = t,
                    Type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)DataType.Float } },
                });
        return copy;
    }

    /// <summary>
    /// The QDQ model: <paramref name="model"/> with Q/DQ pairs on the plan's activations (parameters from
    /// <paramref name="activations"/>), int8 weights and int32 biases on its nodes.
    /// </summary>
    public static ModelProto Apply(ModelProto model, QdqPlan plan, IReadOnlyDictionary<string, QuantParams> activations, OnnxQuantizationOptions options)
    {
        var copy = model.Clone();
        var graph = copy.Graph;
        var initializers = graph.Initializer.ToDictionary(t => t.Name, StringComparer.Ordinal);
        var planned = plan.Nodes.Select(n => n.Name).ToHashSet(StringComparer.Ordinal);
        bool signed = options.SignedActivations;
        var zeroType = signed ? DataType.Int8 : DataType.Uint8;
        var names = new HashSet<string>(graph.Node.SelectMany(n => n.Output).Concat(graph.Initializer.Select(t => t.Name))
            .Concat(graph.Input.Select(i => i.Name)), StringComparer.Ordinal);
        string Fresh(string hint)
        {
            var name = hint;
            for (int i = 1; !names.Add(name); i++) name = $"{hint}_{i}";
            return name;
        }
        string Initializer(string hint, DataType type, long[] dims, Action<TensorProto> fill)
        {
            var t = new TensorProto { Name = Fresh(hint), DataType = (int)type };
            t.Dims.AddRange(dims);
            fill(t);
            graph.Initializer.Add(t);
            return t.Name;
        }
        NodeProto Node(string op, IEnumerable<string> inputs, string output, long? axis = null)
        {
            var n = new NodeProto { OpType = op, Name = Fresh($"{op}_{output}") };
            n.Input.AddRange(inputs);
            n.Output.Add(output);
            if (axis is long a) n.Attribute.Add(new AttributeProto { Name = "axis", Type = AttributeProto.Types.AttributeType.Int, I = a });
            return n;
        }

        // Parameters of every quantized activation (inherited ones resolved through their sources).
        var parameters = new Dictionary<string, QuantParams>(StringComparer.Ordinal);
        foreach (var t in plan.Calibrated)
            parameters[t] = activations.TryGetValue(t, out var p) ? p
                : throw new ArgumentException($"no calibrated range for activation '{t}'", nameof(activations));
        foreach (var (t, source) in plan.Inherited)
        {
            var s = source;
            while (plan.Inherited.TryGetValue(s, out var next)) s = next;
            parameters[t] = parameters[s];
        }

        // Q → DQ for each activation: its scale and zero point as scalar initializers.
        var dequantized = new Dictionary<string, string>(StringComparer.Ordinal);
        var pairs = new Dictionary<string, NodeProto[]>(StringComparer.Ordinal);
        foreach (var (t, p) in parameters)
        {
            var scale = Initializer(t + "_scale", DataType.Float, Array.Empty<long>(), x => x.FloatData.Add(p.Scale));
            var zero = Initializer(t + "_zero_point", zeroType, Array.Empty<long>(), x => x.Int32Data.Add(p.ZeroPoint));
            var q = Fresh(t + "_quantized");
            var dq = Fresh(t + Suffix);
            dequantized[t] = dq;
            pairs[t] = new[] { Node("QuantizeLinear", new[] { t, scale, zero }, q), Node("DequantizeLinear", new[] { q, scale, zero }, dq) };
        }

        var rewritten = new List<NodeProto>(graph.Node.Count + 2 * pairs.Count + 2 * plan.Nodes.Count);
        void Emit(string produced)
        {
            if (pairs.TryGetValue(produced, out var pair)) rewritten.AddRange(pair);
        }
        foreach (var i in graph.Input) Emit(i.Name);
        var usedWeights = new HashSet<string>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
        {
            var dataInput = node.Input.Count > 0 ? node.Input[0] : "";
            // Readers of a quantized activation read its dequantized value.
            for (int i = 0; i < node.Input.Count; i++)
                if (dequantized.TryGetValue(node.Input[i], out var dq)) node.Input[i] = dq;
            if (planned.Contains(node.Name))
            {
                var input = parameters.TryGetValue(dataInput, out var ip) ? ip
                    : throw new InvalidOperationException($"QDQ: the input of {node.Name} has no quantization parameters");
                var weight = initializers[node.Input[1]];
                usedWeights.Add(weight.Name);
                int axis = WeightAxis(node);
                var (values, scales) = QuantizationMath.WeightsPerChannel(FloatValues(weight), weight.Dims, axis, options.ReduceRange);
                var wq = Initializer(weight.Name + "_quantized", DataType.Int8, weight.Dims.ToArray(), t => t.RawData = ByteString.CopyFrom((byte[])(Array)values));
                var ws = Initializer(weight.Name + "_scale", DataType.Float, new long[] { scales.Length }, t => t.FloatData.AddRange(scales));
                var wz = Initializer(weight.Name + "_zero_point", DataType.Int8, new long[] { scales.Length }, t => t.RawData = ByteString.CopyFrom(new byte[scales.Length]));
                var wdq = Fresh(weight.Name + "_dequantized");
                rewritten.Add(Node("DequantizeLinear", new[] { wq, ws, wz }, wdq, axis));
                node.Input[1] = wdq;
                if (node.Input.Count > 2 && node.Input[2].Length > 0)
                {
                    var bias = initializers[node.Input[2]];
                    usedWeights.Add(bias.Name);
                    var floats = FloatValues(bias);
                    if (floats.Length != scales.Length)
                        throw new InvalidOperationException($"QDQ: {node.Name}'s bias has {floats.Length} values for {scales.Length} output channels");
                    var (bq, bs) = QuantizationMath.Bias(floats, input.Scale, scales);
                    var bqName = Initializer(bias.Name + "_quantized", DataType.Int32, new long[] { bq.Length }, t => t.Int32Data.AddRange(bq));
                    var bsName = Initializer(bias.Name + "_scale", DataType.Float, new long[] { bs.Length }, t => t.FloatData.AddRange(bs));
                    var bzName = Initializer(bias.Name + "_zero_point", DataType.Int32, new long[] { bq.Length }, t => t.Int32Data.AddRange(new int[bq.Length]));
                    var bdq = Fresh(bias.Name + "_dequantized");
                    rewritten.Add(Node("DequantizeLinear", new[] { bqName, bsName, bzName }, bdq, 0));
                    node.Input[2] = bdq;
                }
            }
            rewritten.Add(node);
            foreach (var o in node.Output) Emit(o);
        }
        graph.Node.Clear();
        graph.Node.AddRange(rewritten);

        // Drop float weights nothing reads any more (a weight shared with an unquantized node stays).
        var stillRead = graph.Node.SelectMany(n => n.Input).Concat(SubgraphReferences(graph)).ToHashSet(StringComparer.Ordinal);
        foreach (var w in usedWeights)
            if (!stillRead.Contains(w))
                graph.Initializer.Remove(graph.Initializer.First(t => t.Name == w));
        return copy;
    }

    /// <summary>The weight's output-channel axis: 0 for Conv ([O, I/g, kh, kw]); for Gemm 0 when B is transposed ([N, K]), else 1.</summary>
    private static int WeightAxis(NodeProto node)
    {
        if (node.OpType == "Conv") return 0;
        return node.Attribute.Any(a => a.Name == "transB" && a.I != 0) ? 0 : 1;
    }

    /// <summary>The values of a float32 initializer, raw or typed.</summary>
    internal static float[] FloatValues(TensorProto t)
    {
        if (t.DataType != (int)DataType.Float) throw new ArgumentException($"initializer '{t.Name}' is not float32");
        if (t.FloatData.Count > 0) return t.FloatData.ToArray();
        var bytes = t.RawData.Span;
        var values = new float[bytes.Length / sizeof(float)];
        System.Runtime.InteropServices.MemoryMarshal.Cast<byte, float>(bytes).CopyTo(values);
        return values;
    }

    /// <summary>The main graph's node readers of each value (subgraph bodies not counted).</summary>
    private static Dictionary<string, List<NodeProto>> Consumers(GraphProto graph)
    {
        var consumers = new Dictionary<string, List<NodeProto>>(StringComparer.Ordinal);
        foreach (var node in graph.Node)
            foreach (var i in node.Input)
            {
                if (i.Length == 0) continue;
                if (!consumers.TryGetValue(i, out var list)) consumers[i] = list = new List<NodeProto>();
                list.Add(node);
            }
        // A value read inside a subgraph (Loop body) counts as read by the node holding the subgraph.
        foreach (var node in graph.Node)
            foreach (var name in NodeSubgraphReferences(node))
            {
                if (!consumers.TryGetValue(name, out var list)) consumers[name] = list = new List<NodeProto>();
                if (!list.Contains(node)) list.Add(node);
            }
        return consumers;
    }

    private static IEnumerable<string> SubgraphReferences(GraphProto graph) => graph.Node.SelectMany(NodeSubgraphReferences);

    private static IEnumerable<string> NodeSubgraphReferences(NodeProto node)
    {
        foreach (var a in node.Attribute)
        {
            if (a.G is { } g)
                foreach (var n in g.Node)
                {
                    foreach (var i in n.Input) yield return i;
                    foreach (var r in NodeSubgraphReferences(n)) yield return r;
                }
        }
    }
}
