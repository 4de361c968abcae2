using System.Text.Json;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Coco;

/// <summary>
/// The "segmentation" of a COCO annotation or result: polygons, an uncompressed RLE
/// ({counts: [..], size: [h, w]}) or a compressed RLE ({counts: "..", size: [h, w]}).
/// </summary>
public abstract class CocoSegmentation
{
    private protected CocoSegmentation() { }

    /// <summary>
    /// The mask as an RLE, converted the way pycocotools' <c>COCO.annToRLE</c> does: polygons are
    /// rasterised at the image size and merged; RLEs keep their own size.
    /// </summary>
    /// <param name="imageHeight">The height of the annotation's image in pixels (used to rasterise polygons).</param>
    /// <param name="imageWidth">The width of the annotation's image in pixels (used to rasterise polygons).</param>
    /// <returns>The mask as a run-length encoding.</returns>
    /// <exception cref="InvalidOperationException">A polygon segmentation is empty, its first polygon has fewer than 4 numbers,
    /// or its first list has 4 numbers (boxes) and another does not.</exception>
    public abstract Rle ToRle(int imageHeight, int imageWidth);

    /// <summary><see cref="ToRle(int, int)"/>, every failure a <see cref="CocoFormatException"/> prefixed with
    /// <paramref name="where"/> (file and annotation or result).</summary>
    internal Rle ToRle(int imageHeight, int imageWidth, string where)
    {
        try
        {
            return ToRle(imageHeight, imageWidth);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or ArgumentException)
        {
            throw new CocoFormatException($"{where}: 'segmentation' cannot be converted to a mask: {e.Message}", e);
        }
    }

    internal abstract void WriteTo(Utf8JsonWriter writer);
}

/// <summary>Polygon segmentation: each polygon is a flat [x1, y1, x2, y2, …] list.</summary>
public sealed class CocoPolygons : CocoSegmentation
{
    /// <summary>Wraps polygons as read from or written to json.</summary>
    /// <param name="polygons">One flat [x1, y1, x2, y2, …] list per polygon, in pixels.</param>
    public CocoPolygons(IReadOnlyList<double[]> polygons) => Polygons = polygons;

    /// <summary>
    /// The polygons, each a flat [x1, y1, x2, y2, …] list in pixels. As in pycocotools, if the first
    /// list has exactly 4 numbers every list is read as an [x, y, width, height] box instead.
    /// </summary>
    public IReadOnlyList<double[]> Polygons { get; }

    /// <inheritdoc/>
    /// <remarks>The polygons are rasterised at the image size and merged into one mask.</remarks>
    public override Rle ToRle(int imageHeight, int imageWidth)
    {
        if (Polygons.Count == 0)
            throw new InvalidOperationException("the polygon list is empty, so there is no mask to evaluate");
        int first = Polygons[0].Length;
        // pycocotools' frPyObjects decides from the FIRST polygon alone: 4 numbers means the whole
        // list is read as [x, y, w, h] boxes, more than 4 means polygons, fewer is unsupported.
        if (first == 4)
        {
            // frPyObjects turns the lists into one n×4 array: a ragged list is an error there too.
            for (int i = 1; i < Polygons.Count; i++)
            {
                if (Polygons[i].Length != 4)
                    throw new InvalidOperationException($"the first polygon has 4 numbers, so every list is read as an [x, y, width, height] box, but list {i} has {Polygons[i].Length}");
            }
            return Rle.FromPolygons(Polygons.Select(BoxToPolygon).ToList(), imageHeight, imageWidth);
        }
        if (first < 4)
            throw new InvalidOperationException($"the first polygon has {first} numbers; a polygon needs at least 3 points");
        return Rle.FromPolygons(Polygons, imageHeight, imageWidth);
    }

    // Same corner order as maskApi.c's rleFrBbox.
    private static double[] BoxToPolygon(double[] b)
    {
        double xs = b[0], xe = xs + b[2], ys = b[1], ye = ys + b[3];
        return [xs, ys, xs, ye, xe, ye, xe, ys];
    }

    internal override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartArray();
        foreach (var polygon in Polygons)
        {
            writer.WriteStartArray();
            foreach (var v in polygon) writer.WriteNumberValue(v);
            writer.WriteEndArray();
        }
        writer.WriteEndArray();
    }
}

/// <summary>Uncompressed RLE: column-major run lengths starting with a run of zeros.</summary>
public sealed class CocoUncompressedRle : CocoSegmentation
{
    /// <summary>Wraps an uncompressed RLE as read from or written to json.</summary>
    /// <param name="height">The mask height, the first number of "size".</param>
    /// <param name="width">The mask width, the second number of "size".</param>
    /// <param name="counts">The "counts" list of run lengths.</param>
    public CocoUncompressedRle(int height, int width, uint[] counts)
    {
        Height = height;
        Width = width;
        Counts = counts;
    }

    /// <summary>The mask height in pixels, "size"[0].</summary>
    public int Height { get; }

    /// <summary>The mask width in pixels, "size"[1].</summary>
    public int Width { get; }

    /// <summary>The "counts" list: alternating runs of 0s and 1s over the mask read column by column.</summary>
    public uint[] Counts { get; }

    /// <inheritdoc/>
    /// <remarks>The RLE keeps its own size; the image size is not used.</remarks>
    public override Rle ToRle(int imageHeight, int imageWidth) => new(Height, Width, Counts);

    internal override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("size");
        writer.WriteNumberValue(Height);
        writer.WriteNumberValue(Width);
        writer.WriteEndArray();
        writer.WriteStartArray("counts");
        foreach (var c in Counts) writer.WriteNumberValue(c);
        writer.WriteEndArray();
        writer.WriteEndObject();
    }
}

/// <summary>Compressed RLE: the COCO LEB128-like string encoding of the run lengths.</summary>
public sealed class CocoCompressedRle : CocoSegmentation
{
    /// <summary>Wraps a compressed RLE as read from or written to json.</summary>
    /// <param name="height">The mask height, the first number of "size".</param>
    /// <param name="width">The mask width, the second number of "size".</param>
    /// <param name="counts">The "counts" string, as pycocotools' <c>maskUtils.encode</c> produces it.</param>
    public CocoCompressedRle(int height, int width, string counts)
    {
        Height = height;
        Width = width;
        Counts = counts;
    }

    /// <summary>The mask height in pixels, "size"[0].</summary>
    public int Height { get; }

    /// <summary>The mask width in pixels, "size"[1].</summary>
    public int Width { get; }

    /// <summary>The "counts" string: the run lengths in the compact ASCII encoding of pycocotools' maskApi.c.</summary>
    public string Counts { get; }

    /// <summary>Compresses a mask the way pycocotools' <c>maskUtils.encode</c> does, e.g. to write it to a results file.</summary>
    /// <param name="rle">The mask.</param>
    /// <returns>The compressed RLE with the mask's size.</returns>
    public static CocoCompressedRle FromRle(Rle rle) => new(rle.Height, rle.Width, rle.ToCompressedString());

    /// <inheritdoc/>
    /// <remarks>The RLE keeps its own size; the image size is not used.</remarks>
    public override Rle ToRle(int imageHeight, int imageWidth) => Rle.FromCompressedString(Counts, Height, Width);

    internal override void WriteTo(Utf8JsonWriter writer)
    {
        writer.WriteStartObject();
        writer.WriteStartArray("size");
        writer.WriteNumberValue(Height);
        writer.WriteNumberValue(Width);
        writer.WriteEndArray();
        writer.WriteString("counts", Counts);
        writer.WriteEndObject();
    }
}
