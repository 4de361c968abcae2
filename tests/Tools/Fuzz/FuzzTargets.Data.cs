using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Fuzz;

public static partial class FuzzTargets
{
    /// <summary>COCO json, RLE strings, polygons, images, semantic label maps.</summary>
    private static IEnumerable<FuzzTarget> DataTargets()
    {
        yield return new FuzzTarget("coco-dataset", ".json", IsText: true,
            path => CocoDataset.Load(path),
            new[] { typeof(CocoFormatException) });

        // pycocotools' compressed counts; the file is "HEIGHT WIDTH\nCOUNTS" (a header the harness
        // cannot read is skipped: it is the harness's format, not the parser's).
        yield return new FuzzTarget("rle-string", ".txt", IsText: true,
            path =>
            {
                var text = File.ReadAllText(path);
                int newline = text.IndexOf('\n');
                if (newline < 0) return;
                var size = text[..newline].Split(' ');
                if (size.Length != 2 || !int.TryParse(size[0], out int h) || !int.TryParse(size[1], out int w)) return;
                var rle = Rle.FromCompressedString(text[(newline + 1)..], h, w);
                _ = rle.Area;
            },
            new[] { typeof(FormatException), typeof(ArgumentException) }, NamesFile: false);
    }
}
