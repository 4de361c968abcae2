namespace MLNetSeg.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>Weight files (safetensors, PyTorch .pth, TorchSharp), .mlseg model files, ML.NET
    /// model zips holding our transformer, ONNX files.</summary>
    private static IEnumerable<FuzzTarget> ModelTargets()
    {
        yield break;
    }
}
