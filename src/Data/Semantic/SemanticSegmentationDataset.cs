using System.Collections;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Semantic;

/// <summary>One image and its label map on disk. <see cref="Name"/> is the shared key: the path
/// relative to the folder, without extension and suffix.</summary>
/// <param name="Name">The key shared by the image and its label map: the relative path, '/'-separated, without extension and suffix.</param>
/// <param name="ImagePath">The image file.</param>
/// <param name="LabelPath">The 8-bit PNG label map file.</param>
public sealed record SemanticSample(string Name, string ImagePath, string LabelPath);

/// <summary>A loaded sample: pixels and per-pixel classes of the same size.</summary>
/// <param name="Sample">Where the files are.</param>
/// <param name="Image">The decoded image.</param>
/// <param name="Labels">The class of every pixel (<see cref="SemanticLabelMap.IgnoreLabel"/> for void), same size as the image.</param>
public sealed record SemanticExample(SemanticSample Sample, Image Image, SemanticLabelMap Labels);

/// <summary>How images and label maps are found and checked.</summary>
public sealed record SemanticDatasetOptions
{
    /// <summary>Part of the image file name before the extension that is not part of the key,
    /// e.g. "_leftImg8bit" for Cityscapes.</summary>
    public string ImageSuffix { get; init; } = "";
    /// <summary>Same for label maps, e.g. "_gtFine_labelTrainIds".</summary>
    public string LabelSuffix { get; init; } = "";
    /// <summary>Search sub-folders too (Cityscapes keeps one folder per city); keys then include the sub-folder.</summary>
    public bool Recursive { get; init; }
    /// <summary>When set, <see cref="SemanticSegmentationDataset.Load"/> checks every label is a class
    /// in 0 … NumClasses−1 or <see cref="IgnoreLabel"/>.</summary>
    public int? NumClasses { get; init; }
    /// <summary>The label of void pixels, allowed besides the classes (default 255, <see cref="SemanticLabelMap.IgnoreLabel"/>).</summary>
    public int IgnoreLabel { get; init; } = SemanticLabelMap.IgnoreLabel;
}

/// <summary>
/// Image / label-map pairs from two folders (images: .jpg, .jpeg, .png; label maps: 8-bit .png),
/// matched by file name. Listing fails, naming the files, when an image has no label map, a label
/// map has no image, or two files claim the same name; loading fails when sizes or labels are wrong.
/// </summary>
public sealed class SemanticSegmentationDataset : IReadOnlyList<SemanticSample>
{
    private static readonly string[] ImageExtensions = [".jpg", ".jpeg", ".png"];
    private const int MaxNamedInErrors = 5;
    private readonly SemanticSample[] _samples;

    private SemanticSegmentationDataset(string imageDirectory, string labelDirectory, SemanticDatasetOptions options, SemanticSample[] samples)
    {
        ImageDirectory = imageDirectory;
        LabelDirectory = labelDirectory;
        Options = options;
        _samples = samples;
    }

    /// <summary>The folder the images were listed from.</summary>
    public string ImageDirectory { get; }
    /// <summary>The folder the label maps were listed from.</summary>
    public string LabelDirectory { get; }
    /// <summary>The options in effect (the defaults when none were given).</summary>
    public SemanticDatasetOptions Options { get; }
    /// <summary>Number of image / label-map pairs.</summary>
    public int Count => _samples.Length;
    /// <summary>The pair at <paramref name="index"/>, in ordinal order of their names.</summary>
    /// <param name="index">0..<see cref="Count"/> − 1.</param>
    public SemanticSample this[int index] => _samples[index];

    /// <summary>Pairs the images in <paramref name="imageDirectory"/> with the label maps in
    /// <paramref name="labelDirectory"/> (ordinal order of their names).</summary>
    /// <param name="imageDirectory">The folder of images (.jpg, .jpeg, .png).</param>
    /// <param name="labelDirectory">The folder of 8-bit .png label maps.</param>
    /// <param name="options">Suffixes, recursion and label checks; null means the defaults.</param>
    /// <exception cref="DirectoryNotFoundException">A folder does not exist.</exception>
    /// <exception cref="SemanticDatasetException">There are no images, an image has no label map, a label map has no image, or two files share a name.</exception>
    public static SemanticSegmentationDataset FromFolders(string imageDirectory, string labelDirectory, SemanticDatasetOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(imageDirectory);
        ArgumentException.ThrowIfNullOrEmpty(labelDirectory);
        options ??= new SemanticDatasetOptions();
        if (options.NumClasses is < 1) throw new ArgumentOutOfRangeException(nameof(options), $"NumClasses must be positive, got {options.NumClasses}");
        var images = Index(imageDirectory, "image", ImageExtensions, options.ImageSuffix, options.Recursive);
        var labels = Index(labelDirectory, "label map", [".png"], options.LabelSuffix, options.Recursive);
        if (images.Count == 0)
            throw new SemanticDatasetException($"no images ({string.Join(", ", ImageExtensions)}) with suffix '{options.ImageSuffix}' in {imageDirectory}");

        var unlabelled = images.Keys.Where(k => !labels.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        if (unlabelled.Length > 0)
            throw new SemanticDatasetException(
                $"{unlabelled.Length} image(s) have no label map in {labelDirectory}: " +
                string.Join("; ", unlabelled.Take(MaxNamedInErrors).Select(k => $"{images[k]} (expected {Path.Combine(labelDirectory, k + options.LabelSuffix + ".png")})")) +
                (unlabelled.Length > MaxNamedInErrors ? "; ..." : ""));
        var orphans = labels.Keys.Where(k => !images.ContainsKey(k)).OrderBy(k => k, StringComparer.Ordinal).ToArray();
        if (orphans.Length > 0)
            throw new SemanticDatasetException(
                $"{orphans.Length} label map(s) have no image in {imageDirectory}: " +
                string.Join("; ", orphans.Take(MaxNamedInErrors).Select(k => labels[k])) + (orphans.Length > MaxNamedInErrors ? "; ..." : ""));

        var samples = images.Keys.OrderBy(k => k, StringComparer.Ordinal)
            .Select(k => new SemanticSample(k, images[k], labels[k])).ToArray();
        return new SemanticSegmentationDataset(imageDirectory, labelDirectory, options, samples);
    }

    /// <summary>Reads sample <paramref name="index"/>, checking that the label map matches the image
    /// size and, with <see cref="SemanticDatasetOptions.NumClasses"/>, that its labels are valid.</summary>
    /// <exception cref="SemanticDatasetException">The sizes differ, or a label is neither a class nor the ignore label.</exception>
    public SemanticExample Load(int index)
    {
        var sample = _samples[index];
        var image = ImageIO.Read(sample.ImagePath);
        var labels = SemanticLabelMapPng.Read(sample.LabelPath);
        if (labels.Height != image.Height || labels.Width != image.Width)
            throw new SemanticDatasetException(
                $"image {sample.ImagePath} is {image.Height}x{image.Width} but its label map {sample.LabelPath} is {labels.Height}x{labels.Width}");
        if (Options.NumClasses is { } numClasses)
        {
            var values = labels.Labels;
            for (int i = 0; i < values.Length; i++)
            {
                int v = values[i];
                if (v != Options.IgnoreLabel && v >= numClasses)
                    throw new SemanticDatasetException(
                        $"label map {sample.LabelPath}: value {v} at (y={i / labels.Width}, x={i % labels.Width}) is neither a class in 0..{numClasses - 1} nor the ignore label {Options.IgnoreLabel}");
            }
        }
        return new SemanticExample(sample, image, labels);
    }

    /// <summary>The pairs in ordinal order of their names.</summary>
    public IEnumerator<SemanticSample> GetEnumerator() => ((IEnumerable<SemanticSample>)_samples).GetEnumerator();
    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();

    /// <summary>Key (relative path without extension and suffix, '/'-separated) → file path.</summary>
    private static Dictionary<string, string> Index(string directory, string what, string[] extensions, string suffix, bool recursive)
    {
        if (!Directory.Exists(directory))
            throw new DirectoryNotFoundException($"{what} folder {directory} does not exist");
        var byKey = new Dictionary<string, string>(StringComparer.Ordinal);
        var search = recursive ? SearchOption.AllDirectories : SearchOption.TopDirectoryOnly;
        foreach (var path in Directory.EnumerateFiles(directory, "*", search))
        {
            var ext = Path.GetExtension(path);
            if (!extensions.Contains(ext, StringComparer.OrdinalIgnoreCase)) continue;
            var relative = Path.GetRelativePath(directory, path);
            var stem = relative[..^ext.Length];
            if (!stem.EndsWith(suffix, StringComparison.Ordinal)) continue;
            var key = stem[..^suffix.Length].Replace(Path.DirectorySeparatorChar, '/');
            if (!byKey.TryAdd(key, path))
                throw new SemanticDatasetException($"two {what} files share the name '{key}': {byKey[key]} and {path}");
        }
        return byKey;
    }
}
