using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.PostProcessing;

/// <summary>
/// One image's label map from the graph's <see cref="OnnxContract.SemanticScores"/>, as the panoptic model makes it in libtorch:
/// the 1/4-scale scores upsampled 4× (bilinear, align_corners false), the padding cut off, resized to the input image (bilinear),
/// argmax over the channels; for Mask R-CNN-IMP's canvas, pixels whose largest value is below the canvas threshold are unlabelled
/// (255) and the others take their thing class's semantic label. Float32 arithmetic as torch's CPU kernel; ties between channels
/// may break differently where two scores agree to the last bit.
/// </summary>
internal static class SemanticDecoding
{
    /// <param name="scores">[N, S, h, w] semantic scores.</param>
    /// <param name="image">The image's index.</param>
    /// <param name="channels">S.</param>
    /// <param name="h">Score height.</param>
    /// <param name="w">Score width.</param>
    /// <param name="resized">The size the image was resized to inside the graph.</param>
    /// <param name="original">The input image's size.</param>
    /// <param name="canvasLabels">For an IMP canvas, the semantic label of each channel's thing class; null for class logits.</param>
    /// <param name="canvasThreshold">The canvas value below which a pixel is unlabelled.</param>
    public static SemanticLabelMap LabelMap(float[] scores, int image, int channels, int h, int w, (int Height, int Width) resized,
        (int Height, int Width) original, IReadOnlyList<int>? canvasLabels, double canvasThreshold)
    {
        int plane = h * w;
        // 4× upsampling restricted to the resized image's pixels (the crop), then the resize to the original size.
        var up = Resize(scores, (long)image * channels * plane, channels, h, w, resized.Height, resized.Width, 0.25f, 0.25f);
        var full = Resize(up, 0, channels, resized.Height, resized.Width, original.Height, original.Width,
            (float)resized.Height / original.Height, (float)resized.Width / original.Width);
        int pixels = original.Height * original.Width;
        var labels = new int[pixels];
        for (int p = 0; p < pixels; p++)
        {
            int best = 0;
            float value = full[p];
            for (int c = 1; c < channels; c++)
                if (full[(long)c * pixels + p] > value) (best, value) = (c, full[(long)c * pixels + p]);
            labels[p] = canvasLabels is null ? best : value >= canvasThreshold ? canvasLabels[best] : SemanticLabelMap.IgnoreLabel;
        }
        return new SemanticLabelMap(original.Height, original.Width, labels);
    }

    /// <summary>Bilinear resampling of [C, inH, inW] (from <paramref name="offset"/>) to [C, outH, outW] with torch's
    /// align_corners = false source index (dst + 0.5)·scale − 0.5, clamped at 0.</summary>
    private static float[] Resize(float[] x, long offset, int channels, int inH, int inW, int outH, int outW, float scaleH, float scaleW)
    {
        var (y0, y1, wy) = Taps(inH, outH, scaleH);
        var (x0, x1, wx) = Taps(inW, outW, scaleW);
        var result = new float[(long)channels * outH * outW];
        Parallel.For(0, channels, c =>
        {
            long src = offset + (long)c * inH * inW, dst = (long)c * outH * outW;
            for (int i = 0; i < outH; i++)
            {
                long r0 = src + (long)y0[i] * inW, r1 = src + (long)y1[i] * inW;
                float b = wy[i], a = 1 - b;
                for (int j = 0; j < outW; j++)
                {
                    float d = wx[j], e = 1 - d;
                    result[dst + (long)i * outW + j] = a * (e * x[r0 + x0[j]] + d * x[r0 + x1[j]]) + b * (e * x[r1 + x0[j]] + d * x[r1 + x1[j]]);
                }
            }
        });
        return result;
    }

    private static (int[] Low, int[] High, float[] Weight) Taps(int input, int output, float scale)
    {
        var low = new int[output];
        var high = new int[output];
        var weight = new float[output];
        for (int o = 0; o < output; o++)
        {
            float source = Math.Max(scale * (o + 0.5f) - 0.5f, 0f);
            int i = Math.Min((int)source, input - 1);
            low[o] = i;
            high[o] = i < input - 1 ? i + 1 : i;
            weight[o] = Math.Min(source - i, 1f);
        }
        return (low, high, weight);
    }
}
