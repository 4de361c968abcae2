#pragma warning disable CS1591
// Placeholder until the post-processing branch lands (removed then).
namespace MLNetSeg.Onnx.PostProcessing;
public static class MaskPasting { public static Vision.Structures.Rle[] PasteToRle(ReadOnlySpan<float> m, int s, ReadOnlySpan<float> b, int h, int w, double t) => throw new NotImplementedException(); }
public static class KeypointDecoding {
  public static (float[], float[]) HeatmapsToKeypoints(float[] maps, int n, int k, int s, float[] rois) => throw new NotImplementedException();
  public static float[] ResizeKeypoints(float[] p, (int, int) from, (int, int) to) => throw new NotImplementedException(); }
