using System.Runtime.ExceptionServices;
using System.Text.Json;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Torch.IO;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Synthetic;

/// <summary>
/// Writes MLNetSeg's synthetic instance-segmentation / keypoint / semantic benchmark: textured
/// shapes (circle, square, triangle, star, ellipse) and stick-figure persons over sky, grass,
/// water and sand bands, with occlusion, crowd regions and a known mix of COCO object sizes.
/// </summary>
/// <remarks>
/// <para>Layout under the output folder, for split = train and val:</para>
/// <list type="bullet">
/// <item><c>annotations/instances_{split}.json</c>: COCO instances of all six thing classes.
/// Segmentations are the <em>visible</em> masks: polygons for objects neither occluded nor cut by
/// the frame, compressed RLE otherwise, uncompressed RLE for crowd regions (iscrowd 1). bbox and
/// area are those of the mask (pycocotools toBbox/area), so COCO tools agree with them exactly.</item>
/// <item><c>annotations/person_keypoints_{split}.json</c>: the person annotations again (same ids),
/// with the 17 COCO keypoints (x, y, v) and num_keypoints. Keypoints are continuous pixel
/// coordinates (the pixel column i spans [i, i + 1), as for the polygons); v = 0 outside the image
/// (stored as 0, 0, 0), 1 when a later object covers the keypoint, 2 otherwise. Left/right follow
/// COCO: the person's own left, which for these camera-facing figures is the image's right.</item>
/// <item><c>{split}/000001.png</c>: RGB images (ids start at 1).</item>
/// <item><c>semantic/{split}/000001.png</c>: 8-bit label maps, classes of <see cref="SyntheticClasses"/>
/// (things 0–5 with label = category id − 1, stuff 6–9, 255 = clutter/ignore), written with
/// <see cref="SemanticLabelMapPng"/>; the class list is also in <c>semantic/labels.json</c>.</item>
/// </list>
/// <para>Each image is composed from its own random stream seeded by (seed, split, index), so the
/// files are byte-identical for a given seed whatever the number of threads.</para>
/// </remarks>
public static class SyntheticDatasetGenerator
{
    /// <summary>The splits generated, in order: train, val.</summary>
    public static IReadOnlyList<string> Splits { get; } = ["train", "val"];

    /// <summary>The COCO instances file of a split: <c>{root}/annotations/instances_{split}.json</c>.</summary>
    /// <param name="root">The dataset's root folder (the generator's output folder).</param>
    /// <param name="split">"train" or "val".</param>
    public static string InstancesJsonPath(string root, string split) => Path.Combine(root, "annotations", $"instances_{split}.json");

    /// <summary>The COCO person keypoints file of a split: <c>{root}/annotations/person_keypoints_{split}.json</c>.</summary>
    /// <param name="root">The dataset's root folder.</param>
    /// <param name="split">"train" or "val".</param>
    public static string KeypointsJsonPath(string root, string split) => Path.Combine(root, "annotations", $"person_keypoints_{split}.json");

    /// <summary>The image folder of a split, <c>{root}/{split}</c>, that the COCO files' <c>file_name</c>s are relative to.</summary>
    /// <param name="root">The dataset's root folder.</param>
    /// <param name="split">"train" or "val".</param>
    public static string ImageDirectory(string root, string split) => Path.Combine(root, split);

    /// <summary>The folder of 8-bit semantic label maps of a split, <c>{root}/semantic/{split}</c> (same file names as the images).</summary>
    /// <param name="root">The dataset's root folder.</param>
    /// <param name="split">"train" or "val".</param>
    public static string SemanticDirectory(string root, string split) => Path.Combine(root, "semantic", split);

    /// <summary>The semantic class list, <c>{root}/semantic/labels.json</c> (see <see cref="SyntheticClasses"/>).</summary>
    /// <param name="root">The dataset's root folder.</param>
    public static string LabelsJsonPath(string root) => Path.Combine(root, "semantic", "labels.json");

    /// <summary>The file name of an image and its label map: the id in six digits, e.g. <c>000001.png</c>.</summary>
    /// <param name="imageId">The COCO image id (1-based within each split).</param>
    public static string FileName(long imageId) => $"{imageId:D6}.png";

    /// <summary>
    /// Generates the dataset into <paramref name="outputDirectory"/> (created if missing; files of a
    /// previous run are overwritten). <paramref name="progress"/> is called once per image, one call
    /// at a time, with Completed increasing within each split.
    /// </summary>
    public static SyntheticDatasetSummary Generate(SyntheticOptions options, string outputDirectory, IProgress<SyntheticProgress>? progress = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrEmpty(outputDirectory);
        options.Validate();
        try
        {
            Directory.CreateDirectory(Path.Combine(outputDirectory, "annotations"));
            Directory.CreateDirectory(Path.Combine(outputDirectory, "semantic"));
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new IOException($"cannot create the synthetic dataset folder {outputDirectory}: {e.Message}", e);
        }
        AtomicFile.WriteAllBytes(LabelsJsonPath(outputDirectory), SyntheticClasses.LabelsJson());

        var summaries = new List<SyntheticSplitSummary>(Splits.Count);
        for (int splitId = 0; splitId < Splits.Count; splitId++)
        {
            string split = Splits[splitId];
            int count = splitId == 0 ? options.TrainImages : options.ValImages;
            summaries.Add(GenerateSplit(options, outputDirectory, split, splitId, count, progress));
        }
        return new SyntheticDatasetSummary(outputDirectory, options, summaries);
    }

    private static SyntheticSplitSummary GenerateSplit(SyntheticOptions options, string root, string split, int splitId, int count,
        IProgress<SyntheticProgress>? progress)
    {
        string imageDir = ImageDirectory(root, split), semanticDir = SemanticDirectory(root, split);
        Directory.CreateDirectory(imageDir);
        Directory.CreateDirectory(semanticDir);
        var scenes = new ComposedScene[count];
        var gate = new object();
        int completed = 0;
        var parallel = new ParallelOptions { MaxDegreeOfParallelism = options.MaxDegreeOfParallelism ?? Environment.ProcessorCount };
        try
        {
            Parallel.For(0, count, parallel, index =>
            {
                var scene = SceneComposer.Compose(options, SceneRandom.ForImage(options.Seed, splitId, index));
                string name = FileName(index + 1);
                ImageIO.WritePng(new Image(scene.Height, scene.Width, 3, scene.Rgb), Path.Combine(imageDir, name));
                SemanticLabelMapPng.Write(SemanticLabelMap.FromBytes(scene.Height, scene.Width, scene.SemanticLabels), Path.Combine(semanticDir, name));
                // Keep only the annotations: pixels of thousands of images would not fit in memory.
                scenes[index] = scene with { Rgb = [], SemanticLabels = [] };
                lock (gate) progress?.Report(new SyntheticProgress(split, ++completed, count));
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count == 1)
        {
            ExceptionDispatchInfo.Capture(e.InnerExceptions[0]).Throw();
            throw;
        }
        return WriteAnnotations(options, root, split, scenes);
    }

    private static SyntheticSplitSummary WriteAnnotations(SyntheticOptions options, string root, string split, ComposedScene[] scenes)
    {
        var images = new List<CocoImage>(scenes.Length);
        var instances = new List<CocoAnnotation>();
        var persons = new List<CocoAnnotation>();
        long nextId = 1;
        for (int i = 0; i < scenes.Length; i++)
        {
            long imageId = i + 1;
            images.Add(new CocoImage { Id = imageId, Width = scenes[i].Width, Height = scenes[i].Height, FileName = FileName(imageId) });
            foreach (var a in scenes[i].Annotations)
            {
                var annotation = new CocoAnnotation
                {
                    Id = nextId++,
                    ImageId = imageId,
                    CategoryId = a.CategoryId,
                    Bbox = a.Bbox,
                    Area = a.Area,
                    IsCrowd = a.IsCrowd,
                    Segmentation = a.Segmentation,
                    Keypoints = a.Keypoints,
                    NumKeypoints = a.NumKeypoints,
                };
                instances.Add(a.Keypoints is null ? annotation : WithoutKeypoints(annotation));
                if (a.Keypoints is not null) persons.Add(annotation);
            }
        }
        // Both files go through CocoDataset, so they pass the same validation every loaded dataset does.
        new CocoDataset(images, SyntheticClasses.InstanceCategories(), instances, InstancesJsonPath(root, split), Info(options, split, "instances"))
            .Save(InstancesJsonPath(root, split));
        new CocoDataset(images, SyntheticClasses.KeypointCategories(), persons, KeypointsJsonPath(root, split), Info(options, split, "person_keypoints"))
            .Save(KeypointsJsonPath(root, split));
        return Summarise(split, scenes, instances, persons);
    }

    private static CocoAnnotation WithoutKeypoints(CocoAnnotation a) => new()
    {
        Id = a.Id, ImageId = a.ImageId, CategoryId = a.CategoryId, Bbox = a.Bbox, Area = a.Area, IsCrowd = a.IsCrowd, Segmentation = a.Segmentation,
    };

    private static JsonElement Info(SyntheticOptions options, string split, string kind)
    {
        using var stream = new MemoryStream();
        using (var w = new Utf8JsonWriter(stream))
        {
            w.WriteStartObject();
            w.WriteString("description", $"MLNetSeg synthetic shapes and stick figures: {kind}, {split}");
            w.WriteString("version", "1");
            w.WriteString("preset", options.Name);
            w.WriteNumber("seed", options.Seed);
            w.WriteString("keypoint_convention", "COCO: left = the person's own left; figures face the camera, so left_* lie on the image right");
            w.WriteEndObject();
        }
        using var doc = JsonDocument.Parse(stream.ToArray());
        return doc.RootElement.Clone();
    }

    private static SyntheticSplitSummary Summarise(string split, ComposedScene[] scenes, List<CocoAnnotation> instances, List<CocoAnnotation> persons)
    {
        var things = instances.Where(a => !a.IsCrowd).ToList();
        int CountRange(AreaRange r) => things.Count(a => AreaRanges.Classify(a.Area!.Value) == r);
        int CountVisibility(int v) => persons.Sum(a => Enumerable.Range(0, a.Keypoints!.Length / 3).Count(k => a.Keypoints[3 * k + 2] == v));
        var overlapping = SameClassOverlap.AnnotationIds(things);
        return new SyntheticSplitSummary
        {
            Split = split,
            Images = scenes.Length,
            Instances = things.Count,
            CrowdRegions = instances.Count - things.Count,
            Small = CountRange(AreaRange.Small),
            Medium = CountRange(AreaRange.Medium),
            Large = CountRange(AreaRange.Large),
            PolygonSegmentations = things.Count(a => a.Segmentation is CocoPolygons),
            FullyOccludedDropped = scenes.Sum(s => s.FullyOccluded),
            OverlappingSameClassInstances = overlapping.Count,
            ImagesWithOverlappingSameClass = things.Where(a => overlapping.Contains(a.Id)).Select(a => a.ImageId).Distinct().Count(),
            InstancesByCategory = SyntheticClasses.Things.ToDictionary(c => c.Name, c => things.Count(a => a.CategoryId == c.CategoryId)),
            Persons = persons.Count,
            KeypointsVisible = CountVisibility(2),
            KeypointsOccluded = CountVisibility(1),
            KeypointsOutside = CountVisibility(0),
        };
    }

}
