#pragma warning disable CS1591
// Placeholder until the decoding branch lands (removed then).
namespace MLNetSeg.Onnx.Imaging;
public static class SkiaImageDecoder { public static Vision.Imaging.Image Read(string p) => throw new NotImplementedException(); }
