using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Models;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>Weight files (safetensors, PyTorch .pth, TorchSharp), .mlseg model files, ML.NET
    /// model zips holding our transformer, ONNX files.</summary>
    private static IEnumerable<FuzzTarget> ModelTargets()
    {
        // InvalidDataException is SafeTensors.Read's documented rejection (it names the file and tensor).
        yield return new FuzzTarget("safetensors", ".safetensors", IsText: false,
            path =>
            {
                using var scope = DisposeScope.Enter();
                foreach (var t in SafeTensors.Read(path).Tensors.Values) Touch(t);
            },
            new[] { typeof(InvalidDataException) }, SmokeExecutions: 3000);

        // Both torch.save layouts share the reader; the seeds differ (zip archive / consecutive pickles).
        foreach (var name in new[] { "pth-zip", "pth-legacy" })
            yield return new FuzzTarget(name, ".pth", IsText: false,
                path =>
                {
                    using var scope = DisposeScope.Enter();
                    TouchTree(PyTorchCheckpoint.LoadObject(path));
                },
                new[] { typeof(CheckpointFormatException) }, SmokeExecutions: 3000);

        yield return new FuzzTarget("torchsharp", ".dat", IsText: false,
            path =>
            {
                using var scope = DisposeScope.Enter();
                foreach (var t in TorchSharpFormat.Read(path).Values) Touch(t);
            },
            new[] { typeof(TorchSharpFormatException) }, SmokeExecutions: 3000);

        // The seed is a whole (tiny) model: each input builds and loads a Mask R-CNN.
        yield return new FuzzTarget("mlseg", ModelFile.Extension, IsText: false,
            path => ModelFile.Load(path).Model.Dispose(),
            new[] { typeof(ModelFileException) }, SmokeExecutions: 200) { HangLimit = FuzzTarget.ModelHangLimit };

        // ML.NET wraps what a component throws in InvalidOperationException or TargetInvocationException
        // (often several times over) and never passes the zip's path to it: the judge looks through
        // those wrappers at the first real error, which must say what is wrong (the model inside the
        // zip is a temporary file, so it cannot name the zip): ours (the model state's
        // InvalidDataException, ModelFileException and other IOExceptions) or ML.NET's own format
        // errors (FormatException from its decoding checks, IOException from its stream checks,
        // InvalidDataException from a damaged zip, ArgumentOutOfRangeException for a chain whose
        // columns do not match). Anything else under the wrappers (a TorchException, a
        // NullReferenceException, ...) is a finding. The model is parsed on the first row, so one row is scored.
        yield return new FuzzTarget("mlnet-zip", ".zip", IsText: false,
            ScoreOneRow,
            new[] { typeof(IOException), typeof(InvalidDataException), typeof(FormatException), typeof(ArgumentOutOfRangeException) },
            NamesFile: false, SmokeExecutions: 40)
        {
            Wrappers = new[] { typeof(InvalidOperationException), typeof(System.Reflection.TargetInvocationException) },
            HangLimit = FuzzTarget.ModelHangLimit,
        };

        yield return new FuzzTarget("onnx-model", ".onnx", IsText: false,
            path =>
            {
                using var predictor = new OnnxSegmentationPredictor(path);
                _ = predictor.Info.Tasks;
            },
            new[] { typeof(OnnxModelException) }, SmokeExecutions: 60) { HangLimit = FuzzTarget.ModelHangLimit };
    }

    /// <summary>Reads every element (a lazy or broken tensor fails here, inside the call).</summary>
    private static void Touch(Tensor t)
    {
        using var scope = DisposeScope.Enter();
        if (t.NumEl > 0) _ = t.To(DType.Float64).Sum().ItemDouble();
    }

    /// <summary>Touches every tensor in a checkpoint tree (iteratively: the tree may be deep or cyclic).</summary>
    private static void TouchTree(object? root)
    {
        var pending = new Stack<object?>(new[] { root });
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance);
        while (pending.Count > 0)
        {
            var node = pending.Pop();
            if (node is null || !seen.Add(node)) continue;
            switch (node)
            {
                case Tensor t: Touch(t); break;
                case CheckpointDict d:
                    foreach (var v in d.Values) pending.Push(v);
                    foreach (var v in d.Attributes.Values) pending.Push(v);
                    break;
                case IEnumerable<object?> items when node is List<object?> or CheckpointTuple:
                    foreach (var v in items) pending.Push(v);
                    break;
            }
        }
    }

    private static readonly Lazy<string> RowImage = new(() =>
    {
        var path = Path.Combine(Path.GetTempPath(), $"mlnetseg-fuzz-{Environment.ProcessId}.png");
        ImageIO.WritePng(new Image(32, 32, 3), path);
        return path;
    });

    /// <summary>Loads an ML.NET model zip as users do and scores one 32×32 image with it.</summary>
    private static void ScoreOneRow(string path)
    {
        var ml = new MLContext(seed: 1);
        var model = ml.Model.Load(path, out _);
        var rows = ml.Data.LoadFromEnumerable(new[] { new SeedModels.ImageRow { Image = RowImage.Value } });
        var scored = model.Transform(rows);
        using var cursor = scored.GetRowCursor(scored.Schema);
        var score = scored.Schema.GetColumnOrNull("Score");
        var getScore = score is { } c && c.Type is VectorDataViewType { ItemType: NumberDataViewType } ? cursor.GetGetter<VBuffer<float>>(c) : null;
        VBuffer<float> value = default;
        while (cursor.MoveNext()) getScore?.Invoke(ref value);
        (model as IDisposable)?.Dispose();
    }
}
