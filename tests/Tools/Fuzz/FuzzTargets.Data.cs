using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Onnx.Imaging;
using MLNetSeg.Vision.Imaging;
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

        // Detection results (bbox, RLE or polygon segmentation, keypoints, score); Load decodes the RLEs.
        yield return new FuzzTarget("coco-results", ".json", IsText: true,
            path =>
            {
                foreach (var r in CocoResults.Load(path).Items)
                {
                    if (r.Segmentation is CocoCompressedRle or CocoUncompressedRle) _ = r.Segmentation.ToRle(0, 0).Area;
                }
            },
            new[] { typeof(CocoFormatException) });

        // A dataset's polygons, parsed and rasterised at their image's size the way loaders and evaluation do.
        yield return new FuzzTarget("polygons", ".json", IsText: true,
            path =>
            {
                var dataset = CocoDataset.Load(path);
                foreach (var annotation in dataset.Annotations)
                {
                    if (annotation.Segmentation is CocoPolygons) _ = dataset.AnnotationToRle(annotation).Area;
                }
            },
            new[] { typeof(CocoFormatException) }, SmokeExecutions: 3000);

        // The libtorch path's decoder (OpenCV in the native shim), one target per format.
        yield return new FuzzTarget("png", ".png", IsText: false,
            path => Touch(ImageIO.Read(path)),
            new[] { typeof(InvalidImageException) }, SmokeExecutions: 2000);
        yield return new FuzzTarget("jpeg", ".jpg", IsText: false,
            path => Touch(ImageIO.Read(path)),
            new[] { typeof(InvalidImageException) }, SmokeExecutions: 2000);

        // The ONNX path's decoder (SkiaSharp); PNG and JPEG seeds together. The extension does not matter
        // to Skia, which sniffs the bytes.
        yield return new FuzzTarget("skia-image", ".img", IsText: false,
            path => Touch(SkiaImageDecoder.Read(path)),
            new[] { typeof(InvalidImageException) }, SmokeExecutions: 1500);

        // 8-bit grey PNGs of class indices; a decoder error comes back as SemanticDatasetException.
        yield return new FuzzTarget("semantic-label-map", ".png", IsText: false,
            path => _ = SemanticLabelMapPng.Read(path).Height,
            new[] { typeof(SemanticDatasetException) }, SmokeExecutions: 1500);
    }

    private static void Touch(Image image) => _ = image.Pixels[^1];
}
