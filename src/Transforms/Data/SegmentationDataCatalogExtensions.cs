using Microsoft.ML;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Semantic;

namespace MLNetSeg.Transforms;

/// <summary>Segmentation data sources on <c>mlContext.Data</c>.</summary>
public static class SegmentationDataCatalogExtensions
{
    /// <summary>
    /// A COCO annotation file (instances or person keypoints) as a lazy <see cref="IDataView"/>: one
    /// row per image of the file's "images" list, in that order. The json is parsed and validated
    /// now (a <see cref="CocoFormatException"/> or <see cref="FileNotFoundException"/> names the
    /// file); each value is built when a cursor reads it, and image files are never opened here
    /// (<c>mlContext.Transforms.LoadImages("Image", null, "ImagePath")</c> reads them).
    /// </summary>
    /// <remarks>
    /// Columns (names from <see cref="SegmentationColumns"/>; every vector has one entry, or a fixed
    /// group, per object, objects in the file's annotation order in all of them):
    /// <list type="table">
    /// <item><term>ImagePath</term><description>Text: full path, <paramref name="imageFolder"/> + <c>file_name</c>.</description></item>
    /// <item><term>ImageId</term><description>Int64: the COCO image id.</description></item>
    /// <item><term>Width, Height</term><description>Int32: the image size the file gives.</description></item>
    /// <item><term>Label</term><description><c>Vector&lt;Key&lt;UInt32&gt;&gt;</c> with K = number of categories
    /// keys; key k is label k of <see cref="CategoryMapping"/> (categories by ascending id), and the
    /// "KeyValues" annotation lists the category names in that order. Absent when the file has no categories.</description></item>
    /// <item><term>BoundingBoxes</term><description><c>Vector&lt;Single&gt;</c>: x0, y0, x1, y1 per object = COCO's
    /// x, y, x + w, y + h as written (not clipped to the image, degenerate boxes kept).</description></item>
    /// <item><term>Masks</term><description><c>Vector&lt;Text&gt;</c>: each object's mask as a COCO compressed RLE
    /// counts string at the image's size (<see cref="MaskEncoding"/>), from its polygons or RLE; rasterised only
    /// when the column is read. Present when the file has segmentations and <see cref="CocoLoadOptions.LoadMasks"/>.</description></item>
    /// <item><term>Keypoints</term><description><c>Vector&lt;Single&gt;</c>: x, y, v per keypoint, 3·K per object
    /// ((0, 0, 0) for objects without keypoints); the "KeypointNames" annotation names them. Present when the
    /// annotations have keypoints and <see cref="CocoLoadOptions.LoadKeypoints"/>.</description></item>
    /// <item><term>IsCrowd</term><description><c>Vector&lt;Boolean&gt;</c>: COCO's <c>iscrowd</c>.</description></item>
    /// <item><term>Area</term><description><c>Vector&lt;Double&gt;</c>: COCO's <c>area</c> (NaN where the file has none).</description></item>
    /// </list>
    /// A row whose annotation cannot give a value (no bbox, no segmentation, a polygon that cannot be
    /// rasterised) throws a <see cref="BadSampleException"/> naming the annotation id, the image id and
    /// the file when that column of that row is read.
    /// </remarks>
    /// <param name="catalog"><c>mlContext.Data</c>.</param>
    /// <param name="annotationFile">The COCO json.</param>
    /// <param name="imageFolder">The folder the images' <c>file_name</c>s are relative to (need not exist for the labels to be read).</param>
    /// <param name="options">Filters and optional columns; null for the defaults (every image and annotation, all columns).</param>
    public static IDataView LoadFromCoco(this DataOperationsCatalog catalog, string annotationFile, string imageFolder, CocoLoadOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(annotationFile);
        ArgumentException.ThrowIfNullOrEmpty(imageFolder);
        options ??= new CocoLoadOptions();
        var dataset = DetectionDataset.Load(annotationFile, imageFolder, new DetectionDatasetOptions
        {
            RemoveImagesWithoutAnnotations = options.RemoveImagesWithoutAnnotations,
            MinKeypointsPerImage = options.MinKeypointsPerImage,
            KeepCrowd = options.KeepCrowd,
            LoadMasks = options.LoadMasks,
            LoadKeypoints = options.LoadKeypoints,
            KeypointSchema = options.KeypointSchema,
        });
        return new CocoDataView(dataset, imageFolder);
    }

    /// <summary>
    /// An image folder and a folder of semantic label maps (8-bit PNGs of class indices, 255 =
    /// ignore) as an <see cref="IDataView"/>, one row per image, paired by file name (without
    /// extension and <see cref="SemanticFolderOptions.ImageSuffix"/> / <see cref="SemanticFolderOptions.LabelSuffix"/>)
    /// and ordered by that name, as <see cref="SemanticSegmentationDataset.FromFolders"/> does. An image
    /// without a label map, a label map without an image or two files with one name raise a
    /// <see cref="SemanticDatasetException"/> naming them, now.
    /// </summary>
    /// <remarks>
    /// Columns: <b>ImagePath</b> (Text, full path); <b>Width</b>, <b>Height</b> (Int32, read from the label
    /// map's PNG header when a cursor reads them: a label map has its image's size, so no image is
    /// opened); <b>SemanticLabels</b> (Text, full path of the label map), with the
    /// <see cref="SemanticFolderOptions.ClassNamesAnnotation"/> annotation when
    /// <see cref="SemanticFolderOptions.ClassNames"/> is given. Pixel values are not checked here
    /// (<see cref="SemanticSegmentationDataset.Load"/> checks them when the data is used).
    /// </remarks>
    public static IDataView LoadFromSemanticFolder(this DataOperationsCatalog catalog, string imageFolder, string labelMapFolder, SemanticFolderOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentException.ThrowIfNullOrEmpty(imageFolder);
        ArgumentException.ThrowIfNullOrEmpty(labelMapFolder);
        options ??= new SemanticFolderOptions();
        // Full folder paths now, so the path columns do not depend on the working directory when read.
        var dataset = SemanticSegmentationDataset.FromFolders(Path.GetFullPath(imageFolder), Path.GetFullPath(labelMapFolder), new SemanticDatasetOptions
        {
            ImageSuffix = options.ImageSuffix,
            LabelSuffix = options.LabelSuffix,
            Recursive = options.Recursive,
        });
        if (options.ClassNames is { } names)
        {
            if (names.Count == 0) throw new ArgumentException("SemanticFolderOptions.ClassNames is empty; leave it null when the classes have no names", nameof(options));
            int unnamed = names.ToList().FindIndex(string.IsNullOrEmpty);
            if (unnamed >= 0) throw new ArgumentException($"SemanticFolderOptions.ClassNames: class {unnamed} has no name", nameof(options));
        }
        return new SemanticFolderDataView(dataset, options.ClassNames);
    }
}
