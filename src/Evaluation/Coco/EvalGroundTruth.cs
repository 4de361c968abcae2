using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Evaluation.Coco;

/// <summary>
/// The ground truth of the evaluated images and categories in flat arrays, in file order, with
/// pycocotools' <c>_prepare</c> applied: <c>ignore = iscrowd</c> (keypoints: or num_keypoints == 0)
/// and, for segm, every segmentation converted to RLE the way <c>annToRLE</c> does.
/// </summary>
internal sealed class EvalGroundTruth
{
    public required long[] Ids { get; init; }
    public required int[] ImageIndex { get; init; }
    public required int[] CategoryIndex { get; init; }
    public required double[] Area { get; init; }
    public required bool[] IsCrowd { get; init; }
    public required bool[] Ignore { get; init; }
    public required double[][] Boxes { get; init; }
    public required Rle[] Masks { get; init; }
    public required double[][] Keypoints { get; init; }

    public int Count => Ids.Length;

    public static EvalGroundTruth Build(CocoDataset gt, CocoEvalParams p, EvalIndex index, int? maxDegreeOfParallelism, List<string> warnings)
    {
        var kept = new List<CocoAnnotation>();
        foreach (var ann in gt.Annotations)
        {
            if (index.ImageIndex.ContainsKey(ann.ImageId) && index.CategoryIndex.ContainsKey(ann.CategoryId))
                kept.Add(ann);
        }
        int n = kept.Count;
        var result = new EvalGroundTruth
        {
            Ids = new long[n],
            ImageIndex = new int[n],
            CategoryIndex = new int[n],
            Area = new double[n],
            IsCrowd = new bool[n],
            Ignore = new bool[n],
            Boxes = new double[n][],
            Masks = new Rle[p.IouType == CocoIouType.Segm ? n : 0],
            Keypoints = new double[p.IouType == CocoIouType.Keypoints ? n : 0][],
        };
        int zeroIds = 0;
        for (int i = 0; i < n; i++)
        {
            var ann = kept[i];
            if (ann.Id == 0) zeroIds++;
            result.Ids[i] = ann.Id;
            result.ImageIndex[i] = index.ImageIndex[ann.ImageId];
            result.CategoryIndex[i] = index.CategoryIndex[ann.CategoryId];
            result.Area[i] = ann.Area ?? throw new CocoFormatException($"{Where(gt, ann)}: 'area' is missing; COCO evaluation's area ranges need it");
            result.IsCrowd[i] = ann.IsCrowd;
            result.Ignore[i] = ann.IsCrowd;
            if (p.IouType != CocoIouType.Segm)
                result.Boxes[i] = ann.Bbox ?? throw new CocoFormatException($"{Where(gt, ann)}: 'bbox' is missing; {Name(p.IouType)} evaluation needs it");
            if (p.IouType == CocoIouType.Keypoints)
            {
                int expected = 3 * p.KeypointSigmas!.Count;
                var kp = ann.Keypoints ?? throw new CocoFormatException(
                    $"{Where(gt, ann)}: 'keypoints' is missing; keypoints evaluation needs it (restrict the evaluation to keypoint categories with CocoEvalOptions.CategoryIds)");
                if (kp.Length != expected)
                    throw new CocoFormatException(
                        $"{Where(gt, ann)}: 'keypoints' has {kp.Length / 3} keypoints but there are {expected / 3} OKS sigmas (CocoEvalOptions.KeypointSigmas: one sigma per keypoint; the default is the 17 COCO person sigmas)");
                int numKeypoints = ann.NumKeypoints ?? throw new CocoFormatException($"{Where(gt, ann)}: 'num_keypoints' is missing; keypoints evaluation needs it");
                result.Keypoints[i] = kp;
                result.Ignore[i] = numKeypoints == 0 || ann.IsCrowd;
            }
        }
        if (p.IouType == CocoIouType.Segm)
        {
            Parallelism.For(n, maxDegreeOfParallelism, i => result.Masks[i] = ToMask(kept[i], gt));
        }
        if (zeroIds > 0)
        {
            warnings.Add($"{gt.Source}: {zeroIds} annotation(s) have id 0; pycocotools records matches by annotation id, " +
                         "so a detection matched to id 0 counts as unmatched (reproduced here for identical numbers)");
        }
        return result;
    }

    private static string Where(CocoDataset gt, CocoAnnotation ann) => $"{gt.Source}: annotation {ann.Id} (image {ann.ImageId})";

    private static Rle ToMask(CocoAnnotation ann, CocoDataset gt)
    {
        string where = Where(gt, ann);
        var segmentation = ann.Segmentation ?? throw new CocoFormatException($"{Where(gt, ann)}: 'segmentation' is missing; segm evaluation needs it");
        var image = gt.GetImage(ann.ImageId);
        try
        {
            return segmentation.ToRle(image.Height, image.Width);
        }
        catch (Exception e) when (e is not CocoFormatException)
        {
            throw new CocoFormatException($"{Where(gt, ann)}: 'segmentation' cannot be converted to a mask: {e.Message}", e);
        }
    }

    internal static string Name(CocoIouType t) => t switch
    {
        CocoIouType.Bbox => "bbox",
        CocoIouType.Segm => "segm",
        _ => "keypoints",
    };
}

/// <summary>The evaluated image and category ids, sorted ascending as pycocotools sorts them, and their positions.</summary>
internal sealed class EvalIndex
{
    public EvalIndex(long[] imageIds, long[] categoryIds)
    {
        ImageIds = imageIds;
        CategoryIds = categoryIds;
        ImageIndex = new Dictionary<long, int>(imageIds.Length);
        for (int i = 0; i < imageIds.Length; i++) ImageIndex[imageIds[i]] = i;
        CategoryIndex = new Dictionary<long, int>(categoryIds.Length);
        for (int k = 0; k < categoryIds.Length; k++) CategoryIndex[categoryIds[k]] = k;
    }

    public long[] ImageIds { get; }
    public long[] CategoryIds { get; }
    public Dictionary<long, int> ImageIndex { get; }
    public Dictionary<long, int> CategoryIndex { get; }

    public static EvalIndex Create(CocoDataset gt, CocoEvalOptions options)
    {
        var images = (options.ImageIds ?? gt.Images.Select(i => i.Id).ToList()).Distinct().Order().ToArray();
        var categories = (options.CategoryIds ?? gt.Categories.Select(c => c.Id).ToList()).Distinct().Order().ToArray();
        foreach (var id in images)
        {
            if (!gt.TryGetImage(id, out _))
                throw new ArgumentException($"CocoEvalOptions.ImageIds: image {id} is not in {gt.Source}");
        }
        foreach (var id in categories)
        {
            if (!gt.TryGetCategory(id, out _))
                throw new ArgumentException($"CocoEvalOptions.CategoryIds: category {id} is not in {gt.Source}");
        }
        return new EvalIndex(images, categories);
    }
}
