using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// The detections on evaluated images and categories, prepared as pycocotools' <c>COCO.loadRes</c>
/// prepares them. Like loadRes, the FIRST result decides how all results are read:
/// <list type="bullet">
/// <item>it has a non-empty "bbox": every result is a box result, area = w × h, and (for segm) a
/// result without "segmentation" gets its box as a polygon;</item>
/// <item>else it has "segmentation": area = mask area, bbox = the mask's bounding box unless given;</item>
/// <item>else "keypoints": area and bbox = the extent of all keypoints (visible or not).</item>
/// </list>
/// Result ids are 1, 2, … in file order, over all results.
/// </summary>
internal sealed partial class EvalDetections
{
    private enum Kind { Box, Mask, Keypoints }

    public required long[] Ids { get; init; }
    public required int[] ImageIndex { get; init; }
    public required int[] CategoryIndex { get; init; }
    public required double[] Score { get; init; }
    public required double[] Area { get; init; }
    public required double[][] Boxes { get; init; }
    public required Rle[] Masks { get; init; }
    public required double[][] Keypoints { get; init; }

    public int Count => Ids.Length;

    public static EvalDetections Build(CocoResults results, CocoDataset gt, CocoEvalParams p, EvalIndex index,
                                       int? maxDegreeOfParallelism, List<string> warnings)
    {
        var items = results.Items;
        var keptIndices = new List<int>(items.Count);
        var unknownCategories = new SortedSet<long>();
        int unknownCount = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var r = items[i];
            if (!gt.TryGetImage(r.ImageId, out _))
                throw new CocoFormatException(
                    $"{results.Source}: result {i} (image {r.ImageId}): 'image_id' {r.ImageId} is not an image of the ground truth {gt.Source}");
            if (!gt.TryGetCategory(r.CategoryId, out _))
            {
                unknownCategories.Add(r.CategoryId);
                unknownCount++;
                continue;
            }
            if (index.ImageIndex.ContainsKey(r.ImageId) && index.CategoryIndex.ContainsKey(r.CategoryId))
                keptIndices.Add(i);
        }
        if (unknownCount > 0)
        {
            warnings.Add($"{results.Source}: {unknownCount} result(s) have category ids that are not in {gt.Source} " +
                         $"({string.Join(", ", unknownCategories.Take(10))}{(unknownCategories.Count > 10 ? ", …" : "")}); they are ignored, as pycocotools ignores them");
        }

        Kind kind = items.Count == 0 ? Kind.Box : KindOf(items[0], results.Source);
        int n = keptIndices.Count;
        var d = new EvalDetections
        {
            Ids = new long[n],
            ImageIndex = new int[n],
            CategoryIndex = new int[n],
            Score = new double[n],
            Area = new double[n],
            Boxes = new double[n][],
            Masks = new Rle[n],
            Keypoints = new double[n][],
        };
        Parallelism.For(n, maxDegreeOfParallelism, j =>
        {
            int i = keptIndices[j];
            var r = items[i];
            d.Ids[j] = i + 1;
            d.ImageIndex[j] = index.ImageIndex[r.ImageId];
            d.CategoryIndex[j] = index.CategoryIndex[r.CategoryId];
            d.Score[j] = r.Score;
            Prepare(d, j, r, kind, gt.GetImage(r.ImageId), p, new Where(results.Source, i, r.ImageId));
        });
        return d;
    }

    private static Kind KindOf(CocoResult first, string source)
    {
        if (first.Bbox is { Length: > 0 }) return Kind.Box;
        if (first.Segmentation is not null) return Kind.Mask;
        if (first.Keypoints is not null) return Kind.Keypoints;
        throw new CocoFormatException($"{source}: result 0 has no 'bbox', 'segmentation' or 'keypoints'");
    }

    /// <summary>"dt.json: result 12 (image 3)", formatted only for a message.</summary>
    private readonly record struct Where(string Source, int Index, long ImageId)
    {
        public override string ToString() => $"{Source}: result {Index} (image {ImageId})";
    }

    private static string ReadAs(Kind kind) => kind switch
    {
        Kind.Box => "box results (result 0 has a 'bbox')",
        Kind.Mask => "mask results (result 0 has a 'segmentation' and no 'bbox')",
        _ => "keypoint results (result 0 has only 'keypoints')",
    };

    private static void Prepare(EvalDetections d, int j, CocoResult r, Kind kind, CocoImage image, CocoEvalParams p, Where where)
    {
        var iouType = p.IouType;
        switch (kind)
        {
            case Kind.Box:
                var box = r.Bbox is { Length: 4 } b ? b : throw new CocoFormatException($"{where}: has no 'bbox', but all results are read as {ReadAs(kind)}, as pycocotools reads them");
                d.Boxes[j] = box;
                d.Area[j] = box[2] * box[3];
                if (iouType == CocoIouType.Segm)
                {
                    double x1 = box[0], x2 = box[0] + box[2], y1 = box[1], y2 = box[1] + box[3];
                    var segmentation = r.Segmentation ?? new CocoPolygons([[x1, y1, x1, y2, x2, y2, x2, y1]]);
                    d.Masks[j] = ToMask(segmentation, image, where);
                }
                break;
            case Kind.Mask:
                var seg = r.Segmentation ?? throw new CocoFormatException($"{where}: has no 'segmentation', but all results are read as {ReadAs(kind)}, as pycocotools reads them");
                var mask = ToMask(seg, image, where);
                d.Masks[j] = mask;
                d.Area[j] = mask.Area;
                d.Boxes[j] = r.Bbox is { Length: 4 } given ? given : mask.ToBbox();
                break;
            default:
                var kp = r.Keypoints ?? throw new CocoFormatException($"{where}: has no 'keypoints', but all results are read as {ReadAs(kind)}, as pycocotools reads them");
                double x0 = double.PositiveInfinity, xm = double.NegativeInfinity, y0 = double.PositiveInfinity, ym = double.NegativeInfinity;
                for (int i = 0; i < kp.Length; i += 3)
                {
                    x0 = Math.Min(x0, kp[i]); xm = Math.Max(xm, kp[i]);
                    y0 = Math.Min(y0, kp[i + 1]); ym = Math.Max(ym, kp[i + 1]);
                }
                d.Area[j] = (xm - x0) * (ym - y0);
                d.Boxes[j] = [x0, y0, xm - x0, ym - y0];
                if (iouType == CocoIouType.Segm && r.Segmentation is { } kpSeg) d.Masks[j] = ToMask(kpSeg, image, where);
                break;
        }
        if (iouType == CocoIouType.Segm && d.Masks[j] is null)
            throw new CocoFormatException($"{where}: has no 'segmentation'; segm evaluation needs one");
        if (iouType == CocoIouType.Keypoints)
        {
            var kp = r.Keypoints ?? throw new CocoFormatException($"{where}: has no 'keypoints'; keypoints evaluation needs them");
            if (kp.Length != 3 * p.KeypointSigmas!.Count)
                throw new CocoFormatException(
                    $"{where}: 'keypoints' has {kp.Length / 3} keypoints but there are {p.KeypointSigmas.Count} OKS sigmas (CocoEvalOptions.KeypointSigmas: one sigma per keypoint; the default is the 17 COCO person sigmas)");
            d.Keypoints[j] = kp;
        }
    }

    private static Rle ToMask(CocoSegmentation segmentation, CocoImage image, Where where)
    {
        (int h, int w) = segmentation switch
        {
            CocoCompressedRle c => (c.Height, c.Width),
            CocoUncompressedRle u => (u.Height, u.Width),
            _ => (image.Height, image.Width),
        };
        if (h != image.Height || w != image.Width)
            throw new CocoFormatException($"{where}: 'segmentation' RLE size [{h}, {w}] does not match the image size [{image.Height}, {image.Width}] (height, width)");
        try
        {
            return segmentation.ToRle(image.Height, image.Width);
        }
        catch (Exception e) when (e is not CocoFormatException)
        {
            throw new CocoFormatException($"{where}: 'segmentation' cannot be converted to a mask: {e.Message}", e);
        }
    }
}
