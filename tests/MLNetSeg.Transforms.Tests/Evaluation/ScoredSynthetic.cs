using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Evaluation;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms.Tests.Evaluation;

/// <summary>One row of a scored view, in the layouts of <see cref="SegmentationColumns"/>.</summary>
public sealed class ScoredRow
{
    public long ImageId { get; set; }
    public int Width { get; set; }
    public int Height { get; set; }
    public uint[] Label { get; set; } = [];
    public float[] BoundingBoxes { get; set; } = [];
    public string[] Masks { get; set; } = [];
    public float[] Keypoints { get; set; } = [];
    public bool[] IsCrowd { get; set; } = [];
    public double[] Area { get; set; } = [];
    public string SemanticLabels { get; set; } = "";
    public uint[] PredictedLabel { get; set; } = [];
    public float[] Score { get; set; } = [];
    public float[] PredictedBoundingBoxes { get; set; } = [];
    public string[] PredictedMasks { get; set; } = [];
    public float[] PredictedKeypoints { get; set; } = [];
    public ushort[] PredictedSemanticLabels { get; set; } = [];
}

/// <summary>
/// The Tiny synthetic training split (16 images) with deterministic predictions made by perturbing
/// its ground truth: boxes jittered, masks shifted and eroded, objects dropped, relabelled and
/// invented, scores varied (with ties and some under 0.05), keypoints jittered; semantic maps shifted
/// with wrong blocks. The same data as typed objects (for <see cref="SegmentationEvaluator"/>) and as
/// ML.NET rows (for the catalog).
/// </summary>
internal sealed class ScoredSynthetic
{
    public const int KeypointCount = 17;

    private static readonly Lazy<ScoredSynthetic> SharedInstance = new(() => new ScoredSynthetic(TinyDataset.Shared.Root));

    /// <summary>On the shared Tiny set's training split.</summary>
    public static ScoredSynthetic Shared => SharedInstance.Value;

    /// <summary>On the training split of a synthetic dataset generated in <paramref name="root"/>.</summary>
    public ScoredSynthetic(string root)
    {
        Coco = CocoDataset.Load(SyntheticDatasetGenerator.InstancesJsonPath(root, "train"));
        Persons = CocoDataset.Load(SyntheticDatasetGenerator.KeypointsJsonPath(root, "train"));
        ClassNames = Coco.Categories.OrderBy(c => c.Id).Select(c => c.Name).ToArray();
        for (int k = 0; k < ClassNames.Length; k++)
            if (Coco.Categories.OrderBy(c => c.Id).ElementAt(k).Id != k + 1) throw new InvalidOperationException("the test needs category ids 1..N");
        LabelToCategoryId = Enumerable.Range(0, ClassNames.Length + 1).ToArray();
        SemanticClassNames = SyntheticClasses.All.Select(c => c.Name).ToArray();
        KeypointNames = Persons.Categories.Single().Keypoints!.ToArray();
        ImageIds = Coco.Images.Select(i => i.Id).ToArray();
        SemanticPaths = ImageIds.Select(id => Path.Combine(SyntheticDatasetGenerator.SemanticDirectory(root, "train"), SyntheticDatasetGenerator.FileName(id))).ToArray();

        var random = new Random(20261203);
        var derivedMaps = new CocoGroundTruthMaps(Coco, LabelToCategoryId);
        Results = new SegmentationResult[ImageIds.Length];
        SemanticPredictions = new SemanticLabelMap[ImageIds.Length];
        DerivedSemanticPredictions = new SemanticLabelMap[ImageIds.Length];
        for (int i = 0; i < ImageIds.Length; i++)
        {
            var image = Coco.GetImage(ImageIds[i]);
            Results[i] = new SegmentationResult(Predict(image, random));
            SemanticPredictions[i] = Perturb(SemanticLabelMapPng.Read(SemanticPaths[i]), SemanticClassNames.Length, replaceIgnoreWith: 6, random);
            DerivedSemanticPredictions[i] = Perturb(derivedMaps.Semantic(ImageIds[i]), ClassNames.Length + 1, replaceIgnoreWith: 0, random);
        }
        PersonsAsFloat = NarrowKeypoints(Persons);
    }

    /// <summary>instances_train.json: 6 categories, masks, crowd regions.</summary>
    public CocoDataset Coco { get; }

    /// <summary>person_keypoints_train.json: the persons again with 17 keypoints (2-decimal doubles).</summary>
    public CocoDataset Persons { get; }

    /// <summary><see cref="Persons"/> with each keypoint coordinate rounded to float32, what a Vector&lt;Single&gt; column holds.</summary>
    public CocoDataset PersonsAsFloat { get; }

    public string[] ClassNames { get; }
    public int[] LabelToCategoryId { get; }
    public string[] SemanticClassNames { get; }
    public string[] KeypointNames { get; }
    public long[] ImageIds { get; }
    public string[] SemanticPaths { get; }

    /// <summary>Instance predictions (boxes, masks, keypoints), one per image.</summary>
    public SegmentationResult[] Results { get; }

    /// <summary>Predicted label maps in the synthetic semantic classes (10; ground truth: the PNGs).</summary>
    public SemanticLabelMap[] SemanticPredictions { get; }

    /// <summary>Predicted label maps in the instance labels (0 = background, k = category k; ground truth painted from the masks).</summary>
    public SemanticLabelMap[] DerivedSemanticPredictions { get; }

    // ---- predictions ----------------------------------------------------------------------------

    private Instances Predict(CocoImage image, Random random)
    {
        int h = image.Height, w = image.Width;
        var persons = Persons.Annotations.ToDictionary(a => a.Id);
        var detections = new List<(float[] Box, int Label, float Score, Rle Mask, float[] Keypoints)>();
        float Score()
        {
            double s = 0.02 + 0.97 * random.NextDouble();
            return random.NextDouble() < 0.15 ? (float)(Math.Round(s * 10) / 10) : (float)s; // some exact ties
        }
        // Each object is detected 0 times (15 %), once, or twice (20 %: a duplicate with a lower score, as an imperfect NMS leaves).
        var attempts = new List<(CocoAnnotation Ann, float ScoreFactor)>();
        foreach (var ann in Coco.Annotations.Where(a => a.ImageId == image.Id))
        {
            if (random.NextDouble() < (ann.IsCrowd ? 0.5 : 0.15)) continue; // dropped
            attempts.Add((ann, 1));
            if (random.NextDouble() < 0.2) attempts.Add((ann, (float)(0.3 + 0.65 * random.NextDouble())));
        }
        foreach (var (ann, scoreFactor) in attempts)
        {
            int label = (int)ann.CategoryId;
            if (random.NextDouble() < 0.1) label = 1 + random.Next(ClassNames.Length); // perhaps relabelled
            var b = ann.Bbox!;
            float Jitter(double v, double size) => (float)(v + (random.NextDouble() * 2 - 1) * 0.15 * size);
            float x0 = Math.Clamp(Jitter(b[0], b[2]), 0, w), y0 = Math.Clamp(Jitter(b[1], b[3]), 0, h);
            float x1 = Math.Clamp(Jitter(b[0] + b[2], b[2]), 0, w), y1 = Math.Clamp(Jitter(b[1] + b[3], b[3]), 0, h);
            if (x1 < x0) (x0, x1) = (x1, x0);
            if (y1 < y0) (y0, y1) = (y1, y0);
            var mask = ann.Segmentation!.ToRle(h, w).Decode();
            var shifted = Shift(mask, random.Next(-2, 3), random.Next(-2, 3));
            if (random.NextDouble() < 0.5 && Erode(shifted) is { Area: > 0 } eroded) shifted = eroded;
            var kp = new float[3 * KeypointCount];
            if (persons.TryGetValue(ann.Id, out var person) && person.Keypoints is { } truth)
            {
                for (int q = 0; q < KeypointCount; q++)
                {
                    bool labelled = truth[3 * q + 2] > 0;
                    kp[3 * q] = labelled ? (float)(truth[3 * q] + (random.NextDouble() * 2 - 1) * 3) : x0 + (float)random.NextDouble() * (x1 - x0);
                    kp[3 * q + 1] = labelled ? (float)(truth[3 * q + 1] + (random.NextDouble() * 2 - 1) * 3) : y0 + (float)random.NextDouble() * (y1 - y0);
                    kp[3 * q + 2] = (float)random.NextDouble();
                }
            }
            else
            {
                for (int q = 0; q < KeypointCount; q++)
                {
                    kp[3 * q] = x0 + (float)random.NextDouble() * (x1 - x0);
                    kp[3 * q + 1] = y0 + (float)random.NextDouble() * (y1 - y0);
                    kp[3 * q + 2] = (float)random.NextDouble();
                }
            }
            detections.Add(([x0, y0, x1, y1], label, Score() * scoreFactor, Rle.Encode(shifted), kp));
        }
        int spurious = random.Next(3);
        for (int s = 0; s < spurious; s++)
        {
            int bw = 4 + random.Next(30), bh = 4 + random.Next(30);
            int x = random.Next(w - bw), y = random.Next(h - bh);
            var pixels = new byte[h * w];
            for (int yy = y; yy < y + bh; yy++)
                for (int xx = x; xx < x + bw; xx++) pixels[yy * w + xx] = 1;
            var kp = new float[3 * KeypointCount];
            for (int q = 0; q < KeypointCount; q++)
            {
                kp[3 * q] = x + (float)random.NextDouble() * bw;
                kp[3 * q + 1] = y + (float)random.NextDouble() * bh;
                kp[3 * q + 2] = (float)random.NextDouble();
            }
            detections.Add(([x, y, x + bw, y + bh], 1 + random.Next(ClassNames.Length), (float)(0.01 + 0.6 * random.NextDouble()),
                Rle.Encode(BitMask.FromRowMajor(h, w, pixels)), kp));
        }
        // Decreasing score, ties in the order made (OrderByDescending is stable), as a model outputs them.
        var sorted = detections.OrderByDescending(d => d.Score).ToArray();
        if (sorted.Length == 0) return Instances.Empty(h, w);
        var keypoints = sorted.SelectMany(d => d.Keypoints).ToArray();
        var xyv = keypoints.Select((v, i) => i % 3 == 2 ? 1f : v).ToArray();
        var kpScores = Enumerable.Range(0, keypoints.Length / 3).Select(i => keypoints[3 * i + 2]).ToArray();
        return new Instances(h, w, Boxes.FromXyxy(sorted.SelectMany(d => d.Box).ToArray()), sorted.Select(d => d.Label).ToArray(),
            sorted.Select(d => d.Score).ToArray(), sorted.Select(d => d.Mask).ToArray(),
            new Keypoints(sorted.Length, KeypointCount, xyv), kpScores);
    }

    private static BitMask Shift(BitMask mask, int dx, int dy)
    {
        int h = mask.Height, w = mask.Width;
        var src = mask.Pixels;
        var dst = new byte[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int sx = x - dx, sy = y - dy;
                if (sx >= 0 && sx < w && sy >= 0 && sy < h) dst[y * w + x] = src[sy * w + sx];
            }
        return BitMask.FromRowMajor(h, w, dst);
    }

    private static BitMask Erode(BitMask mask)
    {
        int h = mask.Height, w = mask.Width;
        var src = mask.Pixels.ToArray();
        var dst = new byte[h * w];
        bool On(int x, int y) => x >= 0 && x < w && y >= 0 && y < h && src[y * w + x] != 0;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                if (On(x, y) && On(x - 1, y) && On(x + 1, y) && On(x, y - 1) && On(x, y + 1)) dst[y * w + x] = 1;
        return BitMask.FromRowMajor(h, w, dst);
    }

    /// <summary>The ground truth shifted 2 px right, ignore pixels predicted as a class, one 12×12 block of a random class.</summary>
    private static SemanticLabelMap Perturb(SemanticLabelMap truth, int classes, int replaceIgnoreWith, Random random)
    {
        int h = truth.Height, w = truth.Width;
        var labels = new int[h * w];
        var src = truth.Labels;
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
            {
                int v = src[y * w + Math.Max(0, x - 2)];
                labels[y * w + x] = v == SemanticLabelMap.IgnoreLabel ? replaceIgnoreWith : v;
            }
        int bx = random.Next(w - 12), by = random.Next(h - 12), c = random.Next(classes);
        for (int y = by; y < by + 12; y++)
            for (int x = bx; x < bx + 12; x++) labels[y * w + x] = c;
        return new SemanticLabelMap(h, w, labels);
    }

    private static CocoDataset NarrowKeypoints(CocoDataset d) => new(d.Images, d.Categories, d.Annotations.Select(a => new CocoAnnotation
    {
        Id = a.Id, ImageId = a.ImageId, CategoryId = a.CategoryId, Bbox = a.Bbox, Area = a.Area, IsCrowd = a.IsCrowd,
        Segmentation = a.Segmentation, NumKeypoints = a.NumKeypoints,
        Keypoints = a.Keypoints?.Select((v, i) => i % 3 == 2 ? v : (double)(float)v).ToArray(),
    }), d.Source + " (keypoints as float32)");

    // ---- the ML.NET view ------------------------------------------------------------------------

    /// <summary>The rows: ground truth from the json files, predictions from <see cref="Results"/>; semantic
    /// predictions in the synthetic classes (<paramref name="derivedSemantic"/> false) or the instance labels.</summary>
    public ScoredRow[] Rows(bool derivedSemantic = false)
    {
        var persons = Persons.Annotations.ToDictionary(a => a.Id);
        var rows = new ScoredRow[ImageIds.Length];
        for (int i = 0; i < ImageIds.Length; i++)
        {
            var image = Coco.GetImage(ImageIds[i]);
            var anns = Coco.Annotations.Where(a => a.ImageId == image.Id).ToArray();
            var p = Results[i].Instances!;
            var semantic = derivedSemantic ? DerivedSemanticPredictions[i] : SemanticPredictions[i];
            rows[i] = new ScoredRow
            {
                ImageId = image.Id,
                Width = image.Width,
                Height = image.Height,
                Label = anns.Select(a => (uint)a.CategoryId).ToArray(),
                BoundingBoxes = anns.SelectMany(a => new[] { (float)a.Bbox![0], (float)a.Bbox[1], (float)(a.Bbox[0] + a.Bbox[2]), (float)(a.Bbox[1] + a.Bbox[3]) }).ToArray(),
                Masks = anns.Select(a => MaskEncoding.Encode(a.Segmentation!.ToRle(image.Height, image.Width))).ToArray(),
                Keypoints = anns.SelectMany(a => persons.TryGetValue(a.Id, out var person) ? person.Keypoints!.Select(v => (float)v) : new float[3 * KeypointCount]).ToArray(),
                IsCrowd = anns.Select(a => a.IsCrowd).ToArray(),
                Area = anns.Select(a => a.Area!.Value).ToArray(),
                SemanticLabels = SemanticPaths[i],
                PredictedLabel = p.Labels.Select(l => (uint)l).ToArray(),
                Score = p.Scores?.ToArray() ?? [],
                PredictedBoundingBoxes = p.Boxes.ToXyxy(),
                PredictedMasks = p.Masks?.Select(MaskEncoding.Encode).ToArray() ?? [],
                PredictedKeypoints = p.Count == 0 ? [] : Enumerable.Range(0, p.Count * KeypointCount)
                    .SelectMany(q => new[] { p.Keypoints!.Data[3 * q], p.Keypoints.Data[3 * q + 1], p.KeypointScoreData[q] }).ToArray(),
                PredictedSemanticLabels = semantic.Labels.ToArray().Select(v => (ushort)v).ToArray(),
            };
        }
        return rows;
    }

    /// <summary>The rows as an IDataView: Label and PredictedLabel key-typed with the class names as KeyValues, Keypoints with KeypointNames.</summary>
    public IDataView View(MLContext ml, IEnumerable<ScoredRow>? rows = null, params string[] drop)
    {
        var view = ml.Data.LoadFromEnumerable(rows ?? Rows(), SchemaDefinitionFor(ClassNames, KeypointNames));
        return drop.Length == 0 ? view : ml.Transforms.DropColumns(drop).Fit(view).Transform(view);
    }

    /// <param name="predictedClassNames">The PredictedLabel column's key values; null: <paramref name="classNames"/>.</param>
    public static SchemaDefinition SchemaDefinitionFor(IReadOnlyList<string> classNames, IReadOnlyList<string>? keypointNames, IReadOnlyList<string>? predictedClassNames = null)
    {
        var definition = SchemaDefinition.Create(typeof(ScoredRow));
        foreach (var (column, values) in new[] { (nameof(ScoredRow.Label), classNames), (nameof(ScoredRow.PredictedLabel), predictedClassNames ?? classNames) })
        {
            int n = values.Count;
            var names = new VBuffer<ReadOnlyMemory<char>>(n, values.Select(c => c.AsMemory()).ToArray());
            definition[column].ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), n));
            definition[column].AddAnnotation("KeyValues", names, new VectorDataViewType(TextDataViewType.Instance, n));
        }
        if (keypointNames is not null)
        {
            var kp = new VBuffer<ReadOnlyMemory<char>>(keypointNames.Count, keypointNames.Select(c => c.AsMemory()).ToArray());
            definition[nameof(ScoredRow.Keypoints)].AddAnnotation(SegmentationColumns.KeypointNamesAnnotation, kp,
                new VectorDataViewType(TextDataViewType.Instance, keypointNames.Count));
        }
        return definition;
    }
}
