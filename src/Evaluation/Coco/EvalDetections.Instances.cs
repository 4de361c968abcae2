using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// Detections straight from in-memory <see cref="Instances"/>: the same arrays
/// <see cref="Build"/> fills from a results file that holds, per instance, only the field of the
/// evaluated IoU type (what torchvision's and our own result conversion give each evaluation), but
/// without writing and re-parsing COCO results — masks stay <see cref="Rle"/>s.
/// </summary>
internal sealed partial class EvalDetections
{
    public static EvalDetections FromInstances(
        IReadOnlyList<Instances> predictions, IReadOnlyList<long> imageIds, IReadOnlyList<int> labelToCategoryId,
        CocoDataset gt, CocoEvalParams p, EvalIndex index, int? maxDegreeOfParallelism, List<string> warnings)
    {
        var iouType = p.IouType;
        string field = iouType switch { CocoIouType.Segm => "masks", CocoIouType.Keypoints => "keypoints", _ => "boxes" };
        var kept = new List<(int Prediction, int Instance, long Id)>();
        var unknownCategories = new SortedSet<long>();
        int unknownCount = 0;
        long id = 0; // pycocotools numbers results 1, 2, ... over all of them, unknown categories included
        for (int i = 0; i < predictions.Count; i++)
        {
            long imageId = imageIds[i];
            string where = $"prediction {i} (image {imageId})";
            var instances = predictions[i] ?? throw new ArgumentException($"{where} is null");
            if (!gt.TryGetImage(imageId, out var image))
                throw new ArgumentException($"{where}: image {imageId} is not an image of the ground truth {gt.Source}");
            if (instances.Count == 0) continue;
            if (instances.Scores is null)
                throw new ArgumentException($"{where} has no scores; COCO evaluation ranks detections by score");
            if (iouType == CocoIouType.Segm)
            {
                if (instances.Masks is null)
                    throw new ArgumentException($"{where} has no masks for the segm evaluation");
                if (instances.ImageHeight != image.Height || instances.ImageWidth != image.Width)
                    throw new ArgumentException(
                        $"{where}: masks are {instances.ImageHeight}x{instances.ImageWidth} but the image is {image.Height}x{image.Width} in {gt.Source}");
            }
            if (iouType == CocoIouType.Keypoints)
            {
                var kps = instances.Keypoints ?? throw new ArgumentException($"{where} has no keypoints for the keypoints evaluation");
                if (kps.KeypointsPerInstance != p.KeypointSigmas!.Count)
                    throw new ArgumentException(
                        $"{where}: instances have {kps.KeypointsPerInstance} keypoints but there are {p.KeypointSigmas.Count} OKS sigmas (CocoEvalOptions.KeypointSigmas: one sigma per keypoint; the default is the 17 COCO person sigmas)");
            }
            bool imageKept = index.ImageIndex.ContainsKey(imageId);
            for (int j = 0; j < instances.Count; j++)
            {
                id++;
                int label = instances.Labels[j];
                if ((uint)label >= (uint)labelToCategoryId.Count)
                    throw new ArgumentException(
                        $"{where}: instance {j} has label {label}, outside the {labelToCategoryId.Count} labels mapped to category ids");
                float score = instances.Scores[j];
                if (!float.IsFinite(score))
                    throw new ArgumentException($"{where}: instance {j} has score {score}; scores must be finite");
                long categoryId = labelToCategoryId[label];
                if (!gt.TryGetCategory(categoryId, out _))
                {
                    unknownCategories.Add(categoryId);
                    unknownCount++;
                    continue;
                }
                if (imageKept && index.CategoryIndex.ContainsKey(categoryId)) kept.Add((i, j, id));
            }
        }
        if (unknownCount > 0)
        {
            warnings.Add($"{unknownCount} detection(s) have labels whose category ids are not in {gt.Source} " +
                         $"({string.Join(", ", unknownCategories.Take(10))}{(unknownCategories.Count > 10 ? ", …" : "")}); they are ignored, as pycocotools ignores them");
        }

        int n = kept.Count;
        var d = new EvalDetections
        {
            Ids = new long[n],
            ImageIndex = new int[n],
            CategoryIndex = new int[n],
            Score = new double[n],
            Area = new double[n],
            Boxes = new double[n][],
            Masks = new Rle[iouType == CocoIouType.Segm ? n : 0],
            Keypoints = new double[iouType == CocoIouType.Keypoints ? n : 0][],
        };
        Parallelism.For(n, maxDegreeOfParallelism, k =>
        {
            var (i, j, resultId) = kept[k];
            var instances = predictions[i];
            d.Ids[k] = resultId;
            d.ImageIndex[k] = index.ImageIndex[imageIds[i]];
            d.CategoryIndex[k] = index.CategoryIndex[labelToCategoryId[instances.Labels[j]]];
            d.Score[k] = instances.Scores![j];
            switch (iouType)
            {
                case CocoIouType.Bbox:
                    var xyxy = instances.Boxes[j];
                    // Boxes.ToXywh's float arithmetic, then widened, as a results file written from it holds.
                    var box = new double[] { xyxy.X1, xyxy.Y1, (float)(xyxy.X2 - xyxy.X1), (float)(xyxy.Y2 - xyxy.Y1) };
                    if (!double.IsFinite(box[0]) || !double.IsFinite(box[1]) || !double.IsFinite(box[2]) || !double.IsFinite(box[3]) || box[2] < 0 || box[3] < 0)
                        throw new ArgumentException(
                            $"prediction {i} (image {imageIds[i]}): instance {j} has box [{xyxy.X1}, {xyxy.Y1}, {xyxy.X2}, {xyxy.Y2}]; boxes must be finite with x2 >= x1 and y2 >= y1");
                    d.Boxes[k] = box;
                    d.Area[k] = box[2] * box[3];
                    break;
                case CocoIouType.Segm:
                    // loadRes gives a mask result its mask area; its box is never read by segm matching.
                    var mask = instances.Masks![j];
                    d.Masks[k] = mask;
                    d.Area[k] = mask.Area;
                    break;
                default:
                    var kps = instances.Keypoints!;
                    int count = kps.KeypointsPerInstance;
                    var flat = new double[3 * count];
                    double x0 = double.PositiveInfinity, xm = double.NegativeInfinity, y0 = double.PositiveInfinity, ym = double.NegativeInfinity;
                    for (int q = 0; q < count; q++)
                    {
                        double x = kps.X(j, q), y = kps.Y(j, q);
                        if (!double.IsFinite(x) || !double.IsFinite(y))
                            throw new ArgumentException($"prediction {i} (image {imageIds[i]}): instance {j} keypoint {q} is ({x}, {y}); keypoints must be finite");
                        flat[3 * q] = x;
                        flat[3 * q + 1] = y;
                        flat[3 * q + 2] = 1; // torchvision's heatmaps_to_keypoints sets v = 1 for every point
                        x0 = Math.Min(x0, x); xm = Math.Max(xm, x);
                        y0 = Math.Min(y0, y); ym = Math.Max(ym, y);
                    }
                    d.Keypoints[k] = flat;
                    d.Area[k] = (xm - x0) * (ym - y0);
                    d.Boxes[k] = [x0, y0, xm - x0, ym - y0];
                    break;
            }
        });
        return d;
    }
}
