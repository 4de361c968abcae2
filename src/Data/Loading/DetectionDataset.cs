using MLNetSeg.Data.Coco;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Loading;

/// <summary>What a <see cref="DetectionDataset"/> keeps and loads.</summary>
public sealed record DetectionDatasetOptions
{
    /// <summary>
    /// Drop images that cannot teach anything, with the rules of torchvision's
    /// <c>_coco_remove_images_without_annotations</c> (applied to the training set there): an image
    /// is kept when it has at least one annotation (crowd ones count), not every box has
    /// width ≤ 1 or height ≤ 1, and — when its first annotation carries keypoints — at least
    /// <see cref="MinKeypointsPerImage"/> keypoints with visibility &gt; 0 over all its annotations.
    /// An annotation without a box counts as an empty box here.
    /// </summary>
    public bool RemoveImagesWithoutAnnotations { get; init; }

    /// <summary>torchvision's <c>min_keypoints_per_image</c> (10) for the rule above.</summary>
    public int MinKeypointsPerImage { get; init; } = 10;

    /// <summary>
    /// Keep crowd annotations (flagged in <see cref="DetectionTarget.IsCrowd"/>, for models that
    /// treat them as ignore regions). Default false: they are dropped, as torchvision's
    /// <c>ConvertCocoPolysToMask</c> and detectron2's mapper do.
    /// </summary>
    public bool KeepCrowd { get; init; }

    /// <summary>Rasterise a mask per instance (polygons or RLE, at the image size). Every kept annotation then needs a segmentation.</summary>
    public bool LoadMasks { get; init; } = true;

    /// <summary>Load keypoints when the annotation file has any.</summary>
    public bool LoadKeypoints { get; init; } = true;

    /// <summary>
    /// The keypoint schema (names, skeleton, flip map) to use instead of the one the annotation
    /// file implies (see <see cref="DetectionDataset.KeypointSchema"/>), e.g. for a file whose
    /// categories do not name their keypoints. It must describe as many keypoints as the
    /// annotations have. Only one of this and <see cref="KeypointFlipMap"/> may be set; both are
    /// ignored when the dataset has no keypoints (or they are not loaded).
    /// </summary>
    public KeypointSchema? KeypointSchema { get; init; }

    /// <summary>
    /// The left/right flip map to use instead of the one derived from the keypoint names
    /// (<see cref="Vision.Structures.KeypointSchema.FlipMapFromNames"/>): for each keypoint, the index
    /// of the keypoint it becomes when the image is mirrored. It must have one entry per keypoint
    /// and be a permutation that is its own inverse. Names and skeleton still come from the file.
    /// </summary>
    public IReadOnlyList<int>? KeypointFlipMap { get; init; }

    /// <summary>
    /// A folder of per-pixel class maps (8-bit PNGs, ignore = 255), one per image, named as the image's
    /// <c>file_name</c> with the extension .png (the synthetic generator's <c>semantic/&lt;split&gt;</c>): loaded into
    /// <see cref="DetectionTarget.Semantic"/> for the families that train a semantic head (Panoptic FPN, IMP).
    /// Null (default): targets carry no semantic map.
    /// </summary>
    public string? SemanticDirectory { get; init; }

    /// <summary>
    /// The label map of each image by image id, as an alternative to <see cref="SemanticDirectory"/> when the maps are not named
    /// after the images (the ML.NET trainers fill it from a SemanticLabels column). Takes precedence over the folder.
    /// </summary>
    public IReadOnlyDictionary<long, string>? SemanticMapPaths { get; init; }

    /// <summary>Whether targets carry semantic maps (<see cref="SemanticDirectory"/> or <see cref="SemanticMapPaths"/> is set).</summary>
    public bool HasSemanticMaps => SemanticDirectory is not null || SemanticMapPaths is not null;
}

/// <summary>
/// A COCO detection / instance segmentation / keypoint dataset over an annotation file and an
/// image folder: item i is image i in ascending image-id order (torchvision's and detectron2's
/// order) as a <see cref="DetectionSample"/>.
/// </summary>
/// <remarks>
/// Targets follow torchvision's reference <c>ConvertCocoPolysToMask</c>: crowd annotations are
/// dropped (unless <see cref="DetectionDatasetOptions.KeepCrowd"/>), COCO [x, y, w, h] boxes become
/// xyxy in float32 and are clipped to the image, and instances whose clipped box has no positive
/// width and height are dropped with their masks and keypoints. Two deliberate differences:
/// labels are contiguous 1..K (<see cref="Categories"/>) instead of raw category ids, and
/// <c>area</c>/<c>iscrowd</c> are filtered with the boxes (torchvision 0.14 leaves them
/// unfiltered, so they can disagree in length with its boxes). Annotations without keypoints in
/// a keypoint dataset get K unlabelled (0, 0, 0) keypoints.
/// Problems with one sample (missing or corrupt image, size mismatch, an annotation without a box
/// or segmentation) raise <see cref="BadSampleException"/> when that sample is read; problems with
/// the file as a whole raise <see cref="CocoFormatException"/> at construction.
/// All members are safe to call from several threads at once.
/// </remarks>
public sealed class DetectionDataset
{
    private readonly CocoImage[] _images;
    private readonly Dictionary<long, List<CocoAnnotation>> _annotationsByImage;
    private readonly int[] _aspectGroups;

    /// <summary>Indexes an already-loaded annotation file; no image is read until a sample is requested.</summary>
    /// <param name="coco">The annotation file.</param>
    /// <param name="imageDirectory">The folder the images' <c>file_name</c>s are relative to.</param>
    /// <param name="options">What to keep and load; null means the defaults of <see cref="DetectionDatasetOptions"/>.</param>
    /// <exception cref="CocoFormatException">The keypoint annotations disagree in count or with their categories' keypoint names.</exception>
    /// <exception cref="ArgumentException">The keypoint options do not fit the file, or <see cref="DetectionDatasetOptions.MinKeypointsPerImage"/> is negative.</exception>
    public DetectionDataset(CocoDataset coco, string imageDirectory, DetectionDatasetOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(coco);
        ArgumentNullException.ThrowIfNull(imageDirectory);
        Coco = coco;
        ImageDirectory = imageDirectory;
        Options = options ?? new DetectionDatasetOptions();
        if (Options.MinKeypointsPerImage < 0)
            throw new ArgumentOutOfRangeException(nameof(options), $"MinKeypointsPerImage must be non-negative, got {Options.MinKeypointsPerImage}");
        Categories = new CategoryMapping(coco.Categories);
        _annotationsByImage = new Dictionary<long, List<CocoAnnotation>>();
        foreach (var ann in coco.Annotations) // file order within an image, like pycocotools' imgToAnns
        {
            if (!_annotationsByImage.TryGetValue(ann.ImageId, out var list))
                _annotationsByImage[ann.ImageId] = list = new List<CocoAnnotation>();
            list.Add(ann);
        }
        KeypointsPerInstance = Options.LoadKeypoints ? FindKeypointCount(coco) : null;
        KeypointSchema = BuildKeypointSchema(coco, KeypointsPerInstance, Options);
        var ordered = coco.Images.OrderBy(i => i.Id);
        _images = (Options.RemoveImagesWithoutAnnotations ? ordered.Where(HasUsableAnnotations) : ordered).ToArray();
        _aspectGroups = _images.Select(i => AspectRatioGrouping.GroupOf(i.Height, i.Width)).ToArray();
    }

    /// <summary>Reads the annotation file (validated; see <see cref="CocoDataset"/>).</summary>
    /// <param name="annotationFile">The COCO dataset json file.</param>
    /// <param name="imageDirectory">The folder the images' <c>file_name</c>s are relative to.</param>
    /// <param name="options">What to keep and load; null means the defaults.</param>
    /// <exception cref="FileNotFoundException">The annotation file does not exist.</exception>
    /// <exception cref="CocoFormatException">The annotation file is malformed or inconsistent.</exception>
    public static DetectionDataset Load(string annotationFile, string imageDirectory, DetectionDatasetOptions? options = null) =>
        new(CocoDataset.Load(annotationFile), imageDirectory, options);

    /// <summary>The annotation file, with every image (including those <see cref="DetectionDatasetOptions.RemoveImagesWithoutAnnotations"/> leaves out).</summary>
    public CocoDataset Coco { get; }

    /// <summary>The folder the images' <c>file_name</c>s are relative to.</summary>
    public string ImageDirectory { get; }

    /// <summary>The options in effect (the defaults when none were given).</summary>
    public DetectionDatasetOptions Options { get; }

    /// <summary>Category id ↔ contiguous label mapping (label 0 is background).</summary>
    public CategoryMapping Categories { get; }

    /// <summary>K keypoints per instance when the dataset has keypoints (and they are loaded), else null.</summary>
    public int? KeypointsPerInstance { get; }

    /// <summary>
    /// What the <see cref="KeypointsPerInstance"/> keypoints are: null exactly when that is null.
    /// Names come from the "keypoints" list of the file's keypoint category and the skeleton from
    /// its "skeleton" (1-based in the file, 0-based here); the flip map is derived from the names
    /// (<see cref="Vision.Structures.KeypointSchema.FlipMapFromNames"/>) unless
    /// <see cref="DetectionDatasetOptions.KeypointFlipMap"/> gives it, and
    /// <see cref="DetectionDatasetOptions.KeypointSchema"/> replaces the whole schema. Several
    /// categories may name keypoints only if they name the same ones (and any skeletons they give
    /// agree); the lowest category id's skeleton, or the first one given, is used. A 17-keypoint file
    /// that names no keypoints is read as <see cref="Vision.Structures.KeypointSchema.CocoPerson"/>;
    /// any other count without names is an error. Pass this to <see cref="RandomHorizontalFlip"/>
    /// so a flip swaps this dataset's left and right keypoints.
    /// </summary>
    public KeypointSchema? KeypointSchema { get; }

    /// <summary>Number of samples: the file's images, less those <see cref="DetectionDatasetOptions.RemoveImagesWithoutAnnotations"/> removed.</summary>
    public int Count => _images.Length;

    /// <summary>The annotation file's entry for sample <paramref name="index"/>.</summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="index"/> is not in 0..<see cref="Count"/> − 1.</exception>
    public CocoImage ImageInfo(int index) => _images[CheckIndex(index)];

    /// <summary>The image file of sample <paramref name="index"/> (image folder + <c>file_name</c>).</summary>
    public string ImagePath(int index)
    {
        var info = ImageInfo(index);
        return info.FileName is { } name ? Path.Combine(ImageDirectory, name) : $"<image {info.Id} has no file_name>";
    }

    /// <summary>The size the annotation file gives for sample <paramref name="index"/>.</summary>
    public ImageSize OriginalSize(int index)
    {
        var info = ImageInfo(index);
        return new ImageSize(info.Height, info.Width);
    }

    /// <summary>Aspect-ratio group per sample (see <see cref="AspectRatioGrouping"/>), from the annotation file's sizes.</summary>
    public IReadOnlyList<int> AspectGroups => _aspectGroups;

    /// <summary>The target of sample <paramref name="index"/> at its stored size; reads no image (but the semantic map, when
    /// <see cref="DetectionDatasetOptions.SemanticDirectory"/> is set).</summary>
    /// <exception cref="BadSampleException">A kept annotation has no box, or (with <see cref="DetectionDatasetOptions.LoadMasks"/>) no usable
    /// segmentation, or the semantic map is missing, unreadable or of another size than the image.</exception>
    public DetectionTarget GetTarget(int index)
    {
        var info = ImageInfo(index);
        int h = info.Height, w = info.Width;
        var anns = _annotationsByImage.TryGetValue(info.Id, out var list) ? list : [];
        var boxes = new List<float>();
        var labels = new List<int>();
        var crowd = new List<bool>();
        var ids = new List<long>();
        var areas = new List<float>();
        var masks = Options.LoadMasks ? new List<BitMask>() : null;
        var keypoints = KeypointsPerInstance is int k ? new List<float>() : null;
        foreach (var ann in anns)
        {
            if (ann.IsCrowd && !Options.KeepCrowd) continue;
            if (ann.Bbox is not { } b) throw AnnotationError(index, ann, "has no 'bbox'");
            // float32 throughout, as torch.as_tensor(boxes, dtype=torch.float32) then boxes[:, 2:] += boxes[:, :2].
            float x1 = (float)b[0], y1 = (float)b[1];
            float x2 = x1 + (float)b[2], y2 = y1 + (float)b[3];
            x1 = Math.Clamp(x1, 0f, w);
            x2 = Math.Clamp(x2, 0f, w);
            y1 = Math.Clamp(y1, 0f, h);
            y2 = Math.Clamp(y2, 0f, h);
            if (!(y2 > y1 && x2 > x1)) continue; // degenerate after clipping
            int label = Categories.LabelOf(ann.CategoryId); // CocoDataset has checked the category exists
            boxes.AddRange([x1, y1, x2, y2]);
            labels.Add(label);
            crowd.Add(ann.IsCrowd);
            ids.Add(ann.Id);
            areas.Add(ann.Area is double area ? (float)area : float.NaN);
            masks?.Add(MaskOf(index, ann, h, w));
            if (keypoints is not null)
            {
                if (ann.Keypoints is { } kp) keypoints.AddRange(kp.Select(v => (float)v));
                else keypoints.AddRange(new float[KeypointsPerInstance!.Value * 3]); // unlabelled: (0, 0, 0)
            }
        }
        return new DetectionTarget(
            Boxes.FromXyxy(boxes.ToArray()), labels.ToArray(), crowd.ToArray(), ids.ToArray(), areas.ToArray(), masks,
            keypoints is null ? null : new Keypoints(labels.Count, KeypointsPerInstance!.Value, keypoints.ToArray()),
            Options.HasSemanticMaps ? SemanticMapOf(index) : null);
    }

    /// <summary>The path of sample <paramref name="index"/>'s semantic map: its entry in <see cref="DetectionDatasetOptions.SemanticMapPaths"/>,
    /// or the image's file name with .png in <see cref="DetectionDatasetOptions.SemanticDirectory"/> (null without either).</summary>
    public string? SemanticMapPath(int index)
    {
        var info = ImageInfo(index);
        if (Options.SemanticMapPaths is { } paths) return paths.TryGetValue(info.Id, out var path) ? path : null;
        return Options.SemanticDirectory is { } dir && info.FileName is { } name ? Path.Combine(dir, Path.ChangeExtension(name, ".png")) : null;
    }

    private SemanticLabelMap SemanticMapOf(int index)
    {
        var info = ImageInfo(index);
        string path = SemanticMapPath(index) ?? throw new BadSampleException($"image {info.Id} has no semantic map (no entry in SemanticMapPaths, or no 'file_name')", index, info.Id, ImagePath(index));
        SemanticLabelMap map;
        try { map = Semantic.SemanticLabelMapPng.Read(path); }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or Semantic.SemanticDatasetException)
        {
            throw new BadSampleException($"image {info.Id}: its semantic map {path} cannot be read: {e.Message}", index, info.Id, ImagePath(index), inner: e);
        }
        if (map.Height != info.Height || map.Width != info.Width)
            throw new BadSampleException($"{path}: the semantic map is {map.Height}x{map.Width} but image {info.Id} is {info.Height}x{info.Width}",
                index, info.Id, ImagePath(index));
        return map;
    }

    /// <summary>
    /// The image of sample <paramref name="index"/>, decoded, as 3-channel RGB (grey is replicated,
    /// alpha dropped, as PIL's <c>convert("RGB")</c> in torchvision's <c>CocoDetection</c>). Its size
    /// must be the one the annotation file gives.
    /// </summary>
    /// <exception cref="BadSampleException">The image has no <c>file_name</c>, is missing, unreadable or corrupt, or its size disagrees with the file.</exception>
    public Image LoadImage(int index)
    {
        var info = ImageInfo(index);
        string path = ImagePath(index);
        if (info.FileName is null) throw new BadSampleException($"image {info.Id} has no 'file_name'", index, info.Id, path);
        Image image;
        try
        {
            image = ImageIO.Read(path);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // InvalidImageException and FileNotFoundException are IOExceptions and already name the file.
            throw new BadSampleException($"image {info.Id}: {e.Message}", index, info.Id, path, inner: e);
        }
        if (image.Height != info.Height || image.Width != info.Width)
            throw new BadSampleException(
                $"{path}: the image is {image.Height}x{image.Width} (HxW) but {Coco.Source} says image {info.Id} is {info.Height}x{info.Width}",
                index, info.Id, path);
        return image.Channels == 3 ? image : image.ToRgb();
    }

    /// <summary>
    /// Sample <paramref name="index"/>: the decoded image as a float32 [3, H, W] tensor in [0, 1]
    /// (created in the caller's <see cref="DisposeScope"/>) and its target.
    /// </summary>
    /// <exception cref="BadSampleException">The image or one of its annotations cannot be used (see <see cref="GetTarget"/> and <see cref="LoadImage"/>).</exception>
    public DetectionSample Get(int index)
    {
        var target = GetTarget(index);
        var image = LoadImage(index);
        var info = _images[index];
        return new DetectionSample(index, info.Id, ImagePath(index), new ImageSize(info.Height, info.Width), ToFloatTensor(image), target);
    }

    /// <summary>
    /// HWC uint8 → float32 CHW in [0, 1], as torchvision's <c>PILToTensor</c> followed by
    /// <c>ConvertImageDtype(torch.float)</c> (permute, cast, divide by 255).
    /// </summary>
    public static Tensor ToFloatTensor(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        using var scope = DisposeScope.Enter();
        var hwc = Tensor.FromArray(image.PixelArray, image.Height, image.Width, image.Channels);
        var chw = hwc.Permute(2, 0, 1).Contiguous().To(DType.Float32).Div(255.0);
        return chw.MoveToOuterDisposeScope();
    }

    private BitMask MaskOf(int index, CocoAnnotation ann, int h, int w)
    {
        if (ann.Segmentation is not { } segmentation) throw AnnotationError(index, ann, "has no 'segmentation' (needed because LoadMasks is on)");
        try
        {
            return segmentation.ToRle(h, w).Decode();
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw AnnotationError(index, ann, $"'segmentation' cannot be rasterised: {e.Message}", e);
        }
    }

    private BadSampleException AnnotationError(int index, CocoAnnotation ann, string problem, Exception? inner = null) =>
        new($"{Coco.Source}: annotation {ann.Id} (image {ann.ImageId}, {ImagePath(index)}): {problem}",
            index, ann.ImageId, ImagePath(index), ann.Id, inner);

    private bool HasUsableAnnotations(CocoImage image)
    {
        if (!_annotationsByImage.TryGetValue(image.Id, out var anns) || anns.Count == 0) return false;
        // all(any(o <= 1 for o in bbox[2:]))
        if (anns.All(a => a.Bbox is not { Length: 4 } b || b[2] <= 1 || b[3] <= 1)) return false;
        if (anns[0].Keypoints is null) return true;
        int visible = 0;
        foreach (var a in anns)
        {
            if (a.Keypoints is not { } kp) continue; // torchvision would fail on such a mixed image; count it as none
            for (int i = 2; i < kp.Length; i += 3)
                if (kp[i] > 0) visible++;
        }
        return visible >= Options.MinKeypointsPerImage;
    }

    private static int? FindKeypointCount(CocoDataset coco)
    {
        CocoAnnotation? first = null;
        foreach (var ann in coco.Annotations)
        {
            if (ann.Keypoints is not { } kp) continue;
            if (first is null) first = ann;
            else if (kp.Length != first.Keypoints!.Length)
                throw new CocoFormatException(
                    $"{coco.Source}: annotation {ann.Id} (image {ann.ImageId}) has {kp.Length / 3} keypoints but annotation {first.Id} has {first.Keypoints.Length / 3}; one dataset needs one keypoint layout");
        }
        if (first is null) return null;
        if (first.Keypoints!.Length == 0)
            throw new CocoFormatException($"{coco.Source}: annotation {first.Id} (image {first.ImageId}) has an empty 'keypoints' list");
        return first.Keypoints.Length / 3;
    }

    private static KeypointSchema? BuildKeypointSchema(CocoDataset coco, int? keypointCount, DetectionDatasetOptions options)
    {
        if (options.KeypointSchema is not null && options.KeypointFlipMap is not null)
            throw new ArgumentException(
                $"{coco.Source}: DetectionDatasetOptions.KeypointSchema and KeypointFlipMap are both set; the schema already has a flip map, set only one",
                nameof(options));
        if (keypointCount is not int k) return null;
        if (options.KeypointSchema is { } given)
        {
            return given.Count == k ? given : throw new ArgumentException(
                $"{coco.Source}: DetectionDatasetOptions.KeypointSchema describes {given.Count} keypoints but the annotations have {k}", nameof(options));
        }

        var named = coco.Categories.Where(c => c.Keypoints is { Count: > 0 }).OrderBy(c => c.Id).ToArray();
        IReadOnlyList<string> names;
        IReadOnlyList<(int From, int To)> skeleton;
        string what;
        if (named.Length == 0)
        {
            // A file with 17 unnamed keypoints is taken for COCO person, as the flip always assumed.
            if (k != Vision.Structures.KeypointSchema.CocoPerson.Count)
                throw new CocoFormatException(
                    $"{coco.Source}: the annotations have {k} keypoints but no category names them (its 'keypoints' list); " +
                    "name them in the file, or set DetectionDatasetOptions.KeypointSchema, or LoadKeypoints = false");
            names = Vision.Structures.KeypointSchema.CocoPerson.Names;
            skeleton = Vision.Structures.KeypointSchema.CocoPerson.Skeleton;
            what = "the COCO person keypoints (no category names its keypoints)";
        }
        else
        {
            var first = named[0];
            int[][]? firstSkeleton = first.Skeleton?.ToArray();
            var skeletonFrom = first;
            foreach (var other in named.Skip(1))
            {
                if (!other.Keypoints!.SequenceEqual(first.Keypoints!, StringComparer.Ordinal))
                    throw new CocoFormatException(
                        $"{coco.Source}: categories {first.Id} ('{first.Name}') and {other.Id} ('{other.Name}') name different keypoints " +
                        $"([{string.Join(", ", first.Keypoints!)}] vs [{string.Join(", ", other.Keypoints!)}]); a dataset has one keypoint schema " +
                        "(split the file, or set DetectionDatasetOptions.KeypointSchema, or LoadKeypoints = false)");
                if (other.Skeleton is not { } s) continue;
                if (firstSkeleton is null) { firstSkeleton = s.ToArray(); skeletonFrom = other; }
                else if (!SameEdges(firstSkeleton, s))
                    throw new CocoFormatException(
                        $"{coco.Source}: categories {skeletonFrom.Id} ('{skeletonFrom.Name}') and {other.Id} ('{other.Name}') name the same keypoints " +
                        "but give different 'skeleton's; a dataset has one keypoint schema (or set DetectionDatasetOptions.KeypointSchema)");
            }
            what = $"category {first.Id} ('{first.Name}')";
            names = first.Keypoints!;
            if (names.Count != k)
                throw new CocoFormatException($"{coco.Source}: {what} names {names.Count} keypoints but the annotations have {k}");
            // CocoDataset has checked every edge joins two indices in 1..K.
            skeleton = (firstSkeleton ?? []).Select(e => (e[0] - 1, e[1] - 1)).ToArray();
        }

        KeypointSchema fromFile;
        try
        {
            var flip = options.KeypointFlipMap is null ? Vision.Structures.KeypointSchema.FlipMapFromNames(names) : Enumerable.Range(0, k).ToArray();
            fromFile = new KeypointSchema(names, skeleton, flip);
        }
        catch (ArgumentException e)
        {
            throw new CocoFormatException($"{coco.Source}: {what}: {e.Message}", e);
        }
        if (options.KeypointFlipMap is not { } map) return fromFile;
        try
        {
            return new KeypointSchema(names, skeleton, map);
        }
        catch (ArgumentException e)
        {
            throw new ArgumentException($"{coco.Source}: DetectionDatasetOptions.KeypointFlipMap does not fit {what}: {e.Message}", nameof(options), e);
        }

        static bool SameEdges(int[][] a, IReadOnlyList<int[]> b) =>
            a.Length == b.Count && a.Zip(b).All(p => p.First.AsSpan().SequenceEqual(p.Second));
    }

    private int CheckIndex(int index) =>
        (uint)index < (uint)_images.Length ? index : throw new ArgumentOutOfRangeException(nameof(index), $"sample {index} does not exist; the dataset has {_images.Length}");
}
