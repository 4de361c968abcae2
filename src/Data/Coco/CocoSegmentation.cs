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
    public abstract Rle ToRle(int imageHeight, int imageWidth);

    internal abstract void WriteTo(Utf8JsonWriter writer);
}

/// <summary>Polygon segmentation: each polygon is a flat [x1, y1, x2, y2, …] list.</summary>
public sealed class CocoPolygons : CocoSegmentation
{
    public CocoPolygons(IReadOnlyList<double[]> polygons) => Polygons = polygons;

    public IReadOnlyList<double[]> Polygons { get; }

    public override Rle ToRle(int imageHeight, int imageWidth)
    {
        if (Polygons.Count == 0)
            throw new InvalidOperationException("the polygon list is empty, so there is no mask to evaluate");
        int first = Polygons[0].Length;
        // pycocotools' frPyObjects decides from the FIRST polygon alone: 4 numbers means the whole
        // list is read as [x, y, w, h] boxes, more than 4 means polygons, fewer is unsupported.
        if (first == 4)
            return Rle.FromPolygons(Polygons.Select(BoxToPolygon).ToList(), imageHeight, imageWidth);
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
    public CocoUncompressedRle(int height, int width, uint[] counts)
    {
        Height = height;
        Width = width;
        Counts = counts;
    }

    public int Height { get; }

    public int Width { get; }

    public uint[] Counts { get; }

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
    public CocoCompressedRle(int height, int width, string counts)
    {
        Height = height;
        Width = width;
        Counts = counts;
    }

    public int Height { get; }

    public int Width { get; }

    public string Counts { get; }

    public static CocoCompressedRle FromRle(Rle rle) => new(rle.Height, rle.Width, rle.ToCompressedString());

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
