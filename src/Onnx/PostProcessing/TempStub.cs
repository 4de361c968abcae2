#pragma warning disable CS1591
// Placeholder until the post-processing branch lands (removed then).
namespace MLNetSeg.Onnx.PostProcessing;
public static class MaskPasting { public static Vision.Structures.Rle[] PasteToRle(ReadOnlySpan<float> m, int s, ReadOnlySpan<float> b, int h, int w, double t) => throw new NotImplementedException(); }
public static class KeypointDecoding {
  public static (float[], float[]) HeatmapsToKeypoints(ReadOnlySpan<float> maps, int k, int s, ReadOnlySpan<float> rois) => throw new NotImplementedException();
  public static void ResizeKeypoints(Span<float> p, int rh, int rw, int oh, int ow) => throw new NotImplementedException(); }
