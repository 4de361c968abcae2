using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// What one image's result becomes in a row: the values of the output columns (layouts in
/// <see cref="SegmentationColumns"/>). The one conversion from <see cref="SegmentationResult"/> to
/// columns, shared by the transformer's own cursor, its row mapper (PredictionEngine) and the
/// persisted form that <c>mlContext.Model.Load</c> brings back, so all three give the same values.
/// </summary>
internal sealed class ScoredRow
{
    /// <summary>The model's labels (1-based keys of <see cref="SegmentationColumns.PredictedLabel"/>).</summary>
    public uint[] Labels { get; init; } = Array.Empty<uint>();
    public float[] Scores { get; init; } = Array.Empty<float>();
    public float[] Boxes { get; init; } = Array.Empty<float>();
    public string[] Masks { get; init; } = Array.Empty<string>();
    public float[] Keypoints { get; init; } = Array.Empty<float>();
    public ushort[] Semantic { get; init; } = Array.Empty<ushort>();

    /// <summary>The columns of <paramref name="result"/>, keeping the detections scoring at least <paramref name="scoreThreshold"/>.</summary>
    public static ScoredRow From(SegmentationResult result, float scoreThreshold)
    {
        var semantic = result.Semantic is { } map ? ToUInt16(map) : Array.Empty<ushort>();
        if (result.Instances is not { } found) return new ScoredRow { Semantic = semantic };
        var instances = scoreThreshold > 0 && found.Scores is not null ? found.WithMinimumScore(scoreThreshold) : found;
        int n = instances.Count;
        var labels = new uint[n];
        for (int i = 0; i < n; i++) labels[i] = checked((uint)instances.Labels[i]);
        var scores = instances.Scores?.ToArray() ?? new float[n];
        var masks = instances.Masks is { } rles ? rles.Select(MaskEncoding.Encode).ToArray() : Array.Empty<string>();
        return new ScoredRow
        {
            Labels = labels,
            Scores = scores,
            Boxes = instances.Boxes.ToXyxy(),
            Masks = masks,
            Keypoints = KeypointsWithScores(instances),
            Semantic = semantic,
        };
    }

    /// <summary>x, y, score per keypoint: the head's positions with its per-keypoint confidence in place of COCO's visibility.</summary>
    private static float[] KeypointsWithScores(Instances instances)
    {
        if (instances.Keypoints is not { } keypoints) return Array.Empty<float>();
        var data = keypoints.Data.ToArray();
        var scores = instances.KeypointScoreData;
        for (int i = 0; i < scores.Length; i++) data[3 * i + 2] = scores[i];
        return data;
    }

    private static ushort[] ToUInt16(SemanticLabelMap map)
    {
        var labels = map.Labels;
        var values = new ushort[labels.Length];
        for (int i = 0; i < labels.Length; i++) values[i] = checked((ushort)labels[i]);
        return values;
    }
}

internal enum OutputKind { Label, Score, Boxes, Masks, Keypoints, Semantic }
