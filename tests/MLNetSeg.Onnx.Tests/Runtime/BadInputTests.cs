using Google.Protobuf;
using Microsoft.ML.OnnxRuntime;
using MLNetSeg.Onnx.Export;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Onnx.Tests.Export;
using Onnx;

namespace MLNetSeg.Onnx.Tests.Runtime;

/// <summary>Files and inputs the ONNX predictor must refuse with a managed exception naming what is wrong.</summary>
[TestClass]
public sealed class BadInputTests
{
    private static string dir = "";
    private static string modelPath = "";

    [ClassInitialize]
    public static void Export(TestContext _)
    {
        dir = Directory.CreateTempSubdirectory("mlnetseg-onnx-bad").FullName;
        modelPath = Path.Combine(dir, "maskrcnn.onnx");
        using var model = OnnxTestModels.MaskRcnn(seed: 5);
        OnnxExporter.Export(model, OnnxTestModels.Labels(4), modelPath);
    }

    [ClassCleanup]
    public static void Cleanup() => Directory.Delete(dir, recursive: true);

    private static string Write(string name, byte[] bytes)
    {
        var path = Path.Combine(dir, name);
        File.WriteAllBytes(path, bytes);
        return path;
    }

    [TestMethod]
    public void AMissingFileIsFileNotFound()
    {
        var missing = Path.Combine(dir, "nowhere.onnx");
        var e = Assert.ThrowsException<FileNotFoundException>(() => new OnnxSegmentationPredictor(missing));
        StringAssert.Contains(e.Message, missing);
    }

    [TestMethod]
    public void ATextFileAnEmptyFileAndATruncatedExportAreRefusedByName()
    {
        var bytes = File.ReadAllBytes(modelPath);
        foreach (var (name, content) in new[]
                 {
                     ("text.onnx", "this is not a model"u8.ToArray()),
                     ("empty.onnx", Array.Empty<byte>()),
                     ("half.onnx", bytes[..(bytes.Length / 2)]),
                     ("head.onnx", bytes[..100]),
                 })
        {
            var path = Write(name, content);
            var e = Assert.ThrowsException<OnnxModelException>(() => new OnnxSegmentationPredictor(path), name);
            StringAssert.Contains(e.Message, path);
        }
    }

    [TestMethod]
    public void AnOnnxModelThatIsNotAnMLNetSegExportIsRefused()
    {
        // A valid ONNX model (y = Identity(x)) without our metadata, as another tool would write it.
        var graph = new GraphProto { Name = "identity" };
        graph.Node.Add(new NodeProto { OpType = "Identity", Input = { "x" }, Output = { "y" } });
        var type = new TypeProto { TensorType = new TypeProto.Types.Tensor { ElemType = (int)TensorProto.Types.DataType.Float, Shape = new TensorShapeProto { Dim = { new TensorShapeProto.Types.Dimension { DimValue = 3 } } } } };
        graph.Input.Add(new ValueInfoProto { Name = "x", Type = type });
        graph.Output.Add(new ValueInfoProto { Name = "y", Type = type });
        var model = new ModelProto { IrVersion = 8, Graph = graph, OpsetImport = { new OperatorSetIdProto { Version = 17 } } };
        var path = Write("foreign.onnx", model.ToByteArray());
        var e = Assert.ThrowsException<OnnxModelException>(() => new OnnxSegmentationPredictor(path));
        StringAssert.Contains(e.Message, "not an MLNetSeg export");

        // Our metadata claiming a newer interface.
        var ours = ModelProto.Parser.ParseFrom(File.ReadAllBytes(modelPath));
        ours.MetadataProps.First(p => p.Key == OnnxContract.ContractVersionKey).Value = "99";
        path = Write("newer.onnx", ours.ToByteArray());
        e = Assert.ThrowsException<OnnxModelException>(() => new OnnxSegmentationPredictor(path));
        StringAssert.Contains(e.Message, "interface version 99");
    }

    [TestMethod]
    public void InputsThatDoNotFitAreRefusedNamingTheInput()
    {
        using var predictor = new OnnxSegmentationPredictor(modelPath);
        var e = Assert.ThrowsException<ArgumentException>(() => predictor.Run(new float[3 * 4 * 4], new long[] { 4 }));
        StringAssert.Contains(e.Message, OnnxContract.ImageSizes);
        e = Assert.ThrowsException<ArgumentException>(() => predictor.Run(new float[3 * 4 * 4], new long[] { 8, 8 }));
        StringAssert.Contains(e.Message, OnnxContract.ImageSizes);
        e = Assert.ThrowsException<ArgumentException>(() => predictor.Run(new float[7], new long[] { 4, 4, 4, 4 }));
        StringAssert.Contains(e.Message, OnnxContract.Images);
        e = Assert.ThrowsException<ArgumentException>(() => predictor.Run(new float[3 * 16], new long[] { 0, 4 }));
        StringAssert.Contains(e.Message, "0×4");

        // Straight to ONNX Runtime with the wrong rank and dtype: managed exceptions (the rank error names the input).
        using var session = new InferenceSession(modelPath);
        var wrongRank = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxContract.Images, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<float>(new float[48], new[] { 1, 3, 4, 4 })),
            NamedOnnxValue.CreateFromTensor(OnnxContract.ImageSizes, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 4, 4 }, new[] { 1, 2 })),
        };
        var ort = Assert.ThrowsException<OnnxRuntimeException>(() => session.Run(wrongRank).Dispose());
        StringAssert.Contains(ort.Message, OnnxContract.Images);
        var wrongType = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxContract.Images, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<double>(new double[48], new[] { 1, 48 })),
            NamedOnnxValue.CreateFromTensor(OnnxContract.ImageSizes, new Microsoft.ML.OnnxRuntime.Tensors.DenseTensor<long>(new long[] { 4, 4 }, new[] { 1, 2 })),
        };
        // ONNX Runtime names the types but not the input here; our predictor's API takes float[] and long[], so only raw sessions meet this.
        ort = Assert.ThrowsException<OnnxRuntimeException>(() => session.Run(wrongType).Dispose());
        StringAssert.Contains(ort.Message, "Double");
    }

    /// <summary>
    /// A few hundred damaged copies of a real export: random bytes overwritten, cut short, and structural
    /// edits of the graph (an operator renamed, an attribute changed, an input dropped, a shape altered).
    /// Each either loads and predicts or fails with a managed exception; none may take the process down.
    /// </summary>
    [TestMethod]
    public void RandomCorruptionsOfARealExportFailAsManagedExceptionsNeverAbort()
    {
        var original = File.ReadAllBytes(modelPath);
        var proto = ModelProto.Parser.ParseFrom(original);
        var rng = new Random(20261203);
        var image = OnnxTestModels.Scene(48, 64, 3);
        int loaded = 0, refused = 0, failedToRun = 0;
        var path = Path.Combine(dir, "corrupt.onnx");
        for (int trial = 0; trial < 300; trial++)
        {
            byte[] bytes;
            if (trial % 2 == 0)
            {
                bytes = (byte[])original.Clone();
                if (trial % 6 == 0) bytes = bytes[..rng.Next(bytes.Length)];
                int flips = 1 + rng.Next(16);
                for (int f = 0; f < flips && bytes.Length > 0; f++) bytes[rng.Next(bytes.Length)] = (byte)rng.Next(256);
            }
            else
            {
                var mutated = proto.Clone();
                var nodes = mutated.Graph.Node;
                var node = nodes[rng.Next(nodes.Count)];
                switch (rng.Next(5))
                {
                    case 0: node.OpType = node.OpType + "X"; break;
                    case 1 when node.Attribute.Count > 0:
                        var attribute = node.Attribute[rng.Next(node.Attribute.Count)];
                        if (attribute.Type == AttributeProto.Types.AttributeType.Int) attribute.I = rng.Next(-3, 1000);
                        else if (attribute.Type == AttributeProto.Types.AttributeType.Ints && attribute.Ints.Count > 0) attribute.Ints[rng.Next(attribute.Ints.Count)] = rng.Next(-3, 50);
                        else attribute.Name += "_bad";
                        break;
                    case 2 when node.Input.Count > 0: node.Input.RemoveAt(rng.Next(node.Input.Count)); break;
                    case 3:
                        var init = mutated.Graph.Initializer[rng.Next(mutated.Graph.Initializer.Count)];
                        if (init.Dims.Count > 0) init.Dims[rng.Next(init.Dims.Count)] += rng.Next(1, 3);
                        else init.Dims.Add(2);
                        break;
                    default: nodes.RemoveAt(rng.Next(nodes.Count)); break;
                }
                bytes = mutated.ToByteArray();
            }
            File.WriteAllBytes(path, bytes);
            OnnxSegmentationPredictor predictor;
            try { predictor = new OnnxSegmentationPredictor(path); }
            catch (OnnxModelException e)
            {
                StringAssert.Contains(e.Message, path, $"trial {trial}");
                refused++;
                continue;
            }
            using (predictor)
            {
                loaded++;
                try { predictor.Predict(image); }
                catch (Exception e) when (e is InvalidOperationException or ArgumentException)
                {
                    failedToRun++;
                }
            }
        }
        Console.WriteLine($"300 corruptions: {refused} refused at load, {loaded} loaded ({failedToRun} of them failed to run with a managed error)");
        Assert.IsTrue(refused > 50, $"only {refused} of 300 damaged files were refused at load");
    }
}
