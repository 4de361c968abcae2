namespace MLNetSeg.Vision.Structures;

/// <summary>
/// The objects found in (or annotated on) one image: one row per instance across every field.
/// </summary>
/// <remarks>
/// This is the per-image record that predictors return and evaluators consume. Every optional
/// field, when present, has exactly <see cref="Count"/> entries; the constructor checks this and
/// names the field that disagrees. The object is immutable: <see cref="Select(int[])"/> and the
/// filters return new instances. In an ML.NET pipeline the fields map onto the columns named in
/// their documentation.
/// <para>Two views of the same data: per instance, <c>instances[i]</c> (an <see cref="Instance"/> with
/// its box, label, score, mask and keypoints) and <c>foreach</c>; per field, the columns
/// (<see cref="Boxes"/>, <see cref="Labels"/>, <see cref="Scores"/>, ...) as torchvision's output dict
/// has them, with flat row-major spans (<see cref="Boxes.Data"/>, <see cref="Keypoints.Data"/>,
/// <see cref="KeypointScoreData"/>) for bulk work.</para>
/// </remarks>
public sealed class Instances : IReadOnlyList<Instance>
{
    private readonly int[] _labels;
    private readonly float[]? _scores;
    private readonly Rle[]? _masks;
    private readonly float[]? _keypointScores;

    /// <summary>Creates instances from per-field columns (copied); every field given must have one entry per box.</summary>
    /// <param name="imageHeight">Height in pixels of the image the coordinates refer to.</param>
    /// <param name="imageWidth">Width in pixels of the image.</param>
    /// <param name="boxes">One box per instance.</param>
    /// <param name="labels">Contiguous class index per instance.</param>
    /// <param name="scores">Confidence per instance; null for ground truth.</param>
    /// <param name="masks">Full-image mask per instance (each <paramref name="imageHeight"/> × <paramref name="imageWidth"/>).</param>
    /// <param name="keypoints">Keypoints per instance.</param>
    /// <param name="keypointScores">Keypoint confidences, <c>Count × K</c> row-major (torchvision's <c>keypoints_scores</c> flattened).</param>
    /// <exception cref="ArgumentException">A field's length disagrees with the box count, or a mask's size with the image's.</exception>
    public Instances(
        int imageHeight,
        int imageWidth,
        Boxes boxes,
        int[] labels,
        float[]? scores = null,
        IReadOnlyList<Rle>? masks = null,
        Keypoints? keypoints = null,
        float[]? keypointScores = null)
    {
        ArgumentNullException.ThrowIfNull(boxes);
        ArgumentNullException.ThrowIfNull(labels);
        if (imageHeight < 0 || imageWidth < 0)
            throw new ArgumentOutOfRangeException(nameof(imageHeight), $"Instances: image size must be non-negative, got {imageHeight}x{imageWidth}.");
        int n = boxes.Count;
        RequireCount(nameof(Labels), labels.Length, n);
        if (scores is not null) RequireCount(nameof(Scores), scores.Length, n);
        if (masks is not null)
        {
            RequireCount(nameof(Masks), masks.Count, n);
            for (int i = 0; i < masks.Count; i++)
            {
                var m = masks[i] ?? throw new ArgumentException($"Instances: Masks[{i}] is null.", nameof(masks));
                if (m.Height != imageHeight || m.Width != imageWidth)
                    throw new ArgumentException(
                        $"Instances: Masks[{i}] is {m.Height}x{m.Width} but the image is {imageHeight}x{imageWidth}.", nameof(masks));
            }
        }
        if (keypoints is not null) RequireCount(nameof(Keypoints), keypoints.Count, n);
        if (keypointScores is not null)
        {
            if (keypoints is null)
                throw new ArgumentException("Instances: KeypointScores were given without Keypoints.", nameof(keypointScores));
            long expected = (long)n * keypoints.KeypointsPerInstance;
            if (keypointScores.Length != expected)
                throw new ArgumentException(
                    $"Instances: KeypointScores has {keypointScores.Length} values but {n} instances × {keypoints.KeypointsPerInstance} keypoints need {expected}.",
                    nameof(keypointScores));
        }
        ImageHeight = imageHeight;
        ImageWidth = imageWidth;
        Boxes = boxes;
        _labels = (int[])labels.Clone();
        _scores = (float[]?)scores?.Clone();
        _masks = masks?.ToArray();
        Keypoints = keypoints;
        _keypointScores = (float[]?)keypointScores?.Clone();

        void RequireCount(string field, int actual, int expectedCount)
        {
            if (actual != expectedCount)
                throw new ArgumentException($"Instances: {field} has {actual} entries but Boxes has {expectedCount} instances.", field);
        }
    }

    /// <summary>An image with nothing on it.</summary>
    public static Instances Empty(int imageHeight, int imageWidth) => new(imageHeight, imageWidth, Boxes.Empty, Array.Empty<int>());

    /// <summary>Height in pixels of the image the coordinates refer to.</summary>
    public int ImageHeight { get; }

    /// <summary>Width in pixels of the image the coordinates refer to.</summary>
    public int ImageWidth { get; }

    /// <summary>Number of instances.</summary>
    public int Count => Boxes.Count;

    /// <summary>Boxes in image pixels, <c>(x1, y1, x2, y2)</c>. ML.NET column: <c>BoundingBoxes</c> / <c>PredictedBoundingBoxes</c>.</summary>
    public Boxes Boxes { get; }

    /// <summary>Category per instance (contiguous class index, not the COCO category id). ML.NET column: <c>Label</c> / <c>PredictedLabel</c>.</summary>
    public IReadOnlyList<int> Labels => _labels;

    /// <summary>Confidence per instance. Null only for ground truth: every model's predictions carry it
    /// (<c>instances[i].Score</c> is the same value per instance). ML.NET column: <c>Score</c>.</summary>
    public IReadOnlyList<float>? Scores => _scores;

    /// <summary>Binary mask per instance, full-image size, as COCO RLE; null when the model has no mask head. ML.NET column: <c>PredictedMasks</c>.</summary>
    public IReadOnlyList<Rle>? Masks => _masks;

    /// <summary>Keypoints per instance; null when the model has no keypoint head. ML.NET column: <c>PredictedKeypoints</c>.</summary>
    public Keypoints? Keypoints { get; }

    /// <summary>
    /// Confidence per keypoint, <c>KeypointScores[i][k]</c> for keypoint k of instance i (torchvision's
    /// <c>keypoints_scores</c>, [N, K]); null unless keypoints were predicted.
    /// </summary>
    public IReadOnlyList<IReadOnlyList<float>>? KeypointScores =>
        _keypointScores is null ? null : _keypointScoreRows ??= Rows(_keypointScores, Keypoints!.KeypointsPerInstance, Count);

    /// <summary><see cref="KeypointScores"/> flattened, <c>Count × K</c> row-major; empty when there are none.</summary>
    public ReadOnlySpan<float> KeypointScoreData => _keypointScores;

    /// <summary>Instance <paramref name="index"/> with every field this object carries.</summary>
    /// <exception cref="ArgumentOutOfRangeException">There is no instance <paramref name="index"/>.</exception>
    public Instance this[int index]
    {
        get
        {
            var box = Boxes[index];  // validates the index
            IReadOnlyList<Keypoint>? keypoints = null;
            if (Keypoints is { } kp)
            {
                int k = kp.KeypointsPerInstance;
                var row = new Keypoint[k];
                for (int j = 0; j < k; j++)
                    row[j] = new Keypoint(kp.X(index, j), kp.Y(index, j), kp.Visibility(index, j), _keypointScores?[index * k + j]);
                keypoints = row;
            }
            return new Instance(box, _labels[index], _scores?[index], _masks?[index], keypoints);
        }
    }

    /// <summary>The instances in order (see the indexer).</summary>
    public IEnumerator<Instance> GetEnumerator()
    {
        for (int i = 0; i < Count; i++) yield return this[i];
    }

    System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();

    private IReadOnlyList<IReadOnlyList<float>>? _keypointScoreRows;

    private static IReadOnlyList<IReadOnlyList<float>> Rows(float[] flat, int width, int count)
    {
        var rows = new IReadOnlyList<float>[count];
        for (int i = 0; i < count; i++) rows[i] = Array.AsReadOnly(flat[(i * width)..((i + 1) * width)]);
        return Array.AsReadOnly(rows);
    }

    /// <summary>The instances at <paramref name="indices"/>, in that order, with every field sliced alike.</summary>
    public Instances Select(int[] indices)
    {
        ArgumentNullException.ThrowIfNull(indices);
        var boxes = Boxes.Select(indices); // validates the indices
        float[]? keypointScores = null;
        if (_keypointScores is not null)
        {
            int k = Keypoints!.KeypointsPerInstance;
            keypointScores = new float[indices.Length * k];
            for (int j = 0; j < indices.Length; j++) Array.Copy(_keypointScores, indices[j] * k, keypointScores, j * k, k);
        }
        return new Instances(
            ImageHeight,
            ImageWidth,
            boxes,
            indices.Select(i => _labels[i]).ToArray(),
            _scores is null ? null : indices.Select(i => _scores[i]).ToArray(),
            _masks is null ? null : indices.Select(i => _masks[i]).ToArray(),
            Keypoints?.Select(indices),
            keypointScores);
    }

    /// <summary>The instances whose <paramref name="keep"/> flag is set.</summary>
    public Instances Select(bool[] keep)
    {
        ArgumentNullException.ThrowIfNull(keep);
        if (keep.Length != Count)
            throw new ArgumentException($"keep has {keep.Length} flags but there are {Count} instances.", nameof(keep));
        return Select(Boxes.IndicesOf(keep));
    }

    /// <summary>The instances for which <paramref name="predicate"/> (given the instance index) is true.</summary>
    public Instances Filter(Func<int, bool> predicate)
    {
        ArgumentNullException.ThrowIfNull(predicate);
        return Select(Enumerable.Range(0, Count).Where(predicate).ToArray());
    }

    /// <summary>The instances scoring at least <paramref name="threshold"/>.</summary>
    public Instances WithMinimumScore(float threshold)
    {
        if (_scores is null) throw new InvalidOperationException("These instances have no Scores to filter on.");
        return Filter(i => _scores[i] >= threshold);
    }

    /// <summary>A one-line summary: the count, the image size and the fields present.</summary>
    public override string ToString()
    {
        var fields = new List<string> { "boxes", "labels" };
        if (_scores is not null) fields.Add("scores");
        if (_masks is not null) fields.Add("masks");
        if (Keypoints is not null) fields.Add("keypoints");
        if (_keypointScores is not null) fields.Add("keypoint scores");
        return $"Instances ({Count} on {ImageHeight}x{ImageWidth}: {string.Join(", ", fields)})";
    }
}
