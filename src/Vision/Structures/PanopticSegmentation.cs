using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Vision.Structures;

/// <summary>One segment of a panoptic map (COCO panoptic <c>segments_info</c> entry).</summary>
/// <param name="Id">The segment's id in the map, in 1..<see cref="PanopticSegmentation.MaxId"/>.</param>
/// <param name="CategoryId">The category the segment belongs to (a dataset category id, as in <c>segments_info</c>).</param>
/// <param name="IsCrowd">Whether the segment is a crowd region (<c>iscrowd</c>), which panoptic quality does not count as a miss.</param>
public sealed record PanopticSegment(int Id, int CategoryId, bool IsCrowd = false);

/// <summary>
/// One image's panoptic segmentation: a map of segment ids (0 = void/unlabelled) plus what each
/// id is. COCO panoptic PNGs store id = R + 256·G + 256²·B (panopticapi's rgb2id).
/// </summary>
public sealed class PanopticSegmentation
{
    /// <summary>Largest id an RGB PNG can hold.</summary>
    public const int MaxId = 256 * 256 * 256 - 1;

    private readonly int[] _ids;
    private readonly PanopticSegment[] _segments;

    /// <summary>Creates a panoptic segmentation from row-major ids and their segments.</summary>
    /// <param name="height">Rows of the map in pixels.</param>
    /// <param name="width">Columns of the map in pixels.</param>
    /// <param name="ids">Row-major segment ids, copied.</param>
    /// <param name="segments">What the non-zero ids are; ids must be unique and positive.</param>
    /// <param name="name">Names the image in error messages.</param>
    /// <exception cref="ArgumentException">The ids do not fit the size, an id is outside 0..<see cref="MaxId"/>, or a segment is null,
    /// has id 0 or is listed twice.</exception>
    public PanopticSegmentation(int height, int width, int[] ids, IReadOnlyList<PanopticSegment> segments, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(ids);
        ArgumentNullException.ThrowIfNull(segments);
        Name = name ?? "panoptic map";
        if (height < 0 || width < 0 || ids.Length != (long)height * width)
            throw new ArgumentException($"{Name}: a {height}x{width} map needs {(long)height * width} ids, got {ids.Length}", nameof(ids));
        var seen = new HashSet<int>();
        foreach (var s in segments)
        {
            if (s is null) throw new ArgumentException($"{Name}: a segment is null", nameof(segments));
            if (s.Id <= 0 || s.Id > MaxId)
                throw new ArgumentException($"{Name}: segment id {s.Id} must be in 1..{MaxId} (0 marks void pixels)", nameof(segments));
            if (!seen.Add(s.Id)) throw new ArgumentException($"{Name}: segment id {s.Id} is listed twice", nameof(segments));
        }
        for (int i = 0; i < ids.Length; i++)
            if (ids[i] < 0 || ids[i] > MaxId)
                throw new ArgumentException($"{Name}: id {ids[i]} at (y={i / width}, x={i % width}) is outside 0..{MaxId}", nameof(ids));
        Height = height;
        Width = width;
        _ids = (int[])ids.Clone();
        _segments = segments.ToArray();
    }

    /// <summary>Number of rows (pixels).</summary>
    public int Height { get; }

    /// <summary>Number of columns (pixels).</summary>
    public int Width { get; }

    /// <summary>Names the image in error messages (the file path when read from a PNG).</summary>
    public string Name { get; }

    /// <summary>Row-major segment id of every pixel; 0 = void.</summary>
    public ReadOnlySpan<int> Ids => _ids;

    /// <summary>What each non-zero id is. The constructor does not check that every id of <see cref="Ids"/> is listed;
    /// panoptic evaluation does, and rejects maps whose ids are not.</summary>
    public IReadOnlyList<PanopticSegment> Segments => _segments;

    /// <summary>Reads a COCO-panoptic PNG (RGB-encoded ids); errors name the file.</summary>
    public static PanopticSegmentation FromPng(string path, IReadOnlyList<PanopticSegment> segments) =>
        FromRgbImage(ImageIO.Read(path), segments, path);

    /// <summary>Decodes ids from an RGB image: id = R + 256·G + 256²·B.</summary>
    public static PanopticSegmentation FromRgbImage(Image image, IReadOnlyList<PanopticSegment> segments, string? name = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels != 3)
            throw new ArgumentException($"{name ?? "panoptic image"}: panoptic PNGs are RGB, this image has {image.Channels} channel(s)", nameof(image));
        var p = image.Pixels;
        var ids = new int[image.Height * image.Width];
        for (int i = 0; i < ids.Length; i++) ids[i] = p[3 * i] + 256 * p[3 * i + 1] + 65536 * p[3 * i + 2];
        return new PanopticSegmentation(image.Height, image.Width, ids, segments, name);
    }

    /// <summary>The ids encoded as an RGB image (panopticapi's id2rgb), e.g. to write a PNG.</summary>
    public Image ToRgbImage()
    {
        var image = new Image(Height, Width, 3);
        var p = image.Pixels;
        for (int i = 0; i < _ids.Length; i++)
        {
            int id = _ids[i];
            p[3 * i] = (byte)(id & 0xFF);
            p[3 * i + 1] = (byte)((id >> 8) & 0xFF);
            p[3 * i + 2] = (byte)((id >> 16) & 0xFF);
        }
        return image;
    }
}
