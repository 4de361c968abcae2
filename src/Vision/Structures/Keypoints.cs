namespace MLNetSeg.Vision.Structures;

/// <summary>
/// Keypoints of N instances, K per instance, stored as <c>float[N * K * 3]</c> triples of
/// <c>(x, y, visibility)</c> — torchvision's <c>Tensor[N, K, 3]</c> layout.
/// </summary>
/// <remarks>
/// Visibility follows COCO: 0 = not labelled (x and y are meaningless), 1 = labelled but not
/// visible, 2 = labelled and visible. Predictions usually carry 1 for every keypoint and put
/// confidences in <see cref="Instances.KeypointScores"/>.
/// </remarks>
public sealed class Keypoints
{
    private readonly float[] _data;

    /// <summary>Creates keypoints from a copy of <paramref name="data"/> (<c>count × keypointsPerInstance × 3</c> values).</summary>
    public Keypoints(int count, int keypointsPerInstance, float[] data)
    {
        ArgumentNullException.ThrowIfNull(data);
        if (count < 0 || keypointsPerInstance <= 0)
            throw new ArgumentOutOfRangeException(nameof(count),
                $"Keypoints need count >= 0 and keypointsPerInstance > 0, got {count} and {keypointsPerInstance}.");
        long expected = (long)count * keypointsPerInstance * 3;
        if (data.Length != expected)
            throw new ArgumentException(
                $"{count} instances × {keypointsPerInstance} keypoints × (x, y, v) need {expected} values, got {data.Length}.", nameof(data));
        Count = count;
        KeypointsPerInstance = keypointsPerInstance;
        _data = (float[])data.Clone();
    }

    /// <summary>Number of instances.</summary>
    public int Count { get; }

    /// <summary>K, the number of keypoints per instance.</summary>
    public int KeypointsPerInstance { get; }

    /// <summary>All values, <c>[instance][keypoint][x, y, v]</c> flattened.</summary>
    public ReadOnlySpan<float> Data => _data;

    /// <summary>x in image pixels of <paramref name="keypoint"/> of <paramref name="instance"/>.</summary>
    /// <param name="instance">Instance index.</param>
    /// <param name="keypoint">Keypoint index (0 … K − 1).</param>
    public float X(int instance, int keypoint) => _data[Offset(instance, keypoint)];

    /// <summary>y in image pixels of <paramref name="keypoint"/> of <paramref name="instance"/>.</summary>
    /// <param name="instance">Instance index.</param>
    /// <param name="keypoint">Keypoint index (0 … K − 1).</param>
    public float Y(int instance, int keypoint) => _data[Offset(instance, keypoint) + 1];

    /// <summary>COCO visibility (0 not labelled, 1 hidden, 2 visible) of <paramref name="keypoint"/> of <paramref name="instance"/>.</summary>
    /// <param name="instance">Instance index.</param>
    /// <param name="keypoint">Keypoint index (0 … K − 1).</param>
    public float Visibility(int instance, int keypoint) => _data[Offset(instance, keypoint) + 2];

    /// <summary>The keypoints of the instances at <paramref name="indices"/>, in that order.</summary>
    public Keypoints Select(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        int stride = KeypointsPerInstance * 3;
        var r = new float[indices.Length * stride];
        for (int k = 0; k < indices.Length; k++)
        {
            int i = indices[k];
            if ((uint)i >= (uint)Count)
                throw new ArgumentOutOfRangeException(nameof(indices), $"indices[{k}] = {i} but there are {Count} instances.");
            Array.Copy(_data, i * stride, r, k * stride, stride);
        }
        return new Keypoints(indices.Length, KeypointsPerInstance, r);
    }

    /// <summary>The keypoints of the instances whose <paramref name="keep"/> flag is set.</summary>
    public Keypoints Select(bool[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        if (keep.Length != Count)
            throw new ArgumentException($"keep has {keep.Length} flags but there are {Count} instances.", nameof(keep));
        return Select(Boxes.IndicesOf(keep));
    }

    /// <summary>
    /// Mirrors the keypoints for a horizontally flipped image of width <paramref name="imageWidth"/>:
    /// x becomes <c>imageWidth − x</c>, left and right keypoints swap places through the schema's
    /// flip map, and unlabelled keypoints (visibility 0) are zeroed — torchvision's reference
    /// <c>_flip_coco_person_keypoints</c> rule.
    /// </summary>
    public Keypoints FlipHorizontal(int imageWidth, KeypointSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        if (schema.Count != KeypointsPerInstance)
            throw new ArgumentException(
                $"The schema describes {schema.Count} keypoints but these instances have {KeypointsPerInstance}.", nameof(schema));
        var r = new float[_data.Length];
        for (int n = 0; n < Count; n++)
        {
            for (int k = 0; k < KeypointsPerInstance; k++)
            {
                int src = Offset(n, schema.FlipMap[k]);
                int dst = Offset(n, k);
                if (_data[src + 2] == 0) continue; // stays (0, 0, 0)
                r[dst] = imageWidth - _data[src];
                r[dst + 1] = _data[src + 1];
                r[dst + 2] = _data[src + 2];
            }
        }
        return new Keypoints(Count, KeypointsPerInstance, r);
    }

    /// <summary>A one-line summary: instances and keypoints per instance.</summary>
    public override string ToString() => $"Keypoints ({Count} × {KeypointsPerInstance})";

    private int Offset(int instance, int keypoint)
    {
        if ((uint)instance >= (uint)Count || (uint)keypoint >= (uint)KeypointsPerInstance)
            throw new ArgumentOutOfRangeException(nameof(instance),
                $"Keypoint ({instance}, {keypoint}) is outside {Count} instances × {KeypointsPerInstance} keypoints.");
        return (instance * KeypointsPerInstance + keypoint) * 3;
    }
}
