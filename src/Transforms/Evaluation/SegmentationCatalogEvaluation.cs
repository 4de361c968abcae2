using Microsoft.ML;
using MLNetSeg.Evaluation;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Transforms;

/// <summary><c>mlContext.Segmentation().Evaluate(...)</c>: metrics of a scored <see cref="IDataView"/>.</summary>
public static class SegmentationCatalogEvaluation
{
    /// <summary>
    /// Evaluates a scored <see cref="IDataView"/> — ground-truth and prediction columns in the layouts
    /// of <see cref="SegmentationColumns"/> — with MLNetSeg's pycocotools-exact engine
    /// (<see cref="SegmentationEvaluator"/>): COCO box, mask and keypoint AP, semantic mIoU and friends.
    /// </summary>
    /// <remarks>
    /// <para><b>Ground truth.</b> One row is one image; the rows become an in-memory COCO dataset:
    /// image id = the ImageId column, or row index + 1 without it; categories = the keys 1..N of the
    /// Label column, named by its KeyValues annotation (key k is COCO category k and the model's label
    /// k; key 0, ML.NET's missing key, is an error); one annotation per object, in row then object
    /// order. Boxes x0, y0, x1, y1 become COCO's [x0, y0, x1 − x0, y1 − y0] (float corners widened
    /// exactly). Masks are decoded at Height × Width (both columns are then required). IsCrowd
    /// defaults to false. Keypoints: K per object from the column's KeypointNames annotation or the
    /// data, visibility 0/1/2; keypoint AP is over the categories with a labelled keypoint (or those in
    /// <c>options.Coco.CategoryIds</c>), and OKS takes each object's box from BoundingBoxes, or from its
    /// mask without that column. <b>Area</b>: the Area column when there is one; otherwise the mask
    /// area when masks can be read (COCO's definition; detectron2's <c>convert_to_coco_dict</c> fills a
    /// missing area the same way), else the box area (x1 − x0)·(y1 − y0) — pycocotools itself fails on
    /// a ground truth without 'area' — and a warning says which.</para>
    /// <para><b>Predictions.</b> Per row: PredictedLabel keys (same key count, and same KeyValues when
    /// both columns have them, as Label), Score, and PredictedBoundingBoxes / PredictedMasks /
    /// PredictedKeypoints (x, y, score per keypoint) as the tasks need; every detection of a row is
    /// scored, in the row's order for equal scores (pycocotools' file order).</para>
    /// <para><b>Semantic.</b> PredictedSemanticLabels (Vector&lt;UInt16&gt;, Height·Width row-major)
    /// against the PNG label maps named by SemanticLabels (255 = ignore), over the classes of
    /// <c>options.ClassNames</c> (background included) or, without it, "__background__" plus the Label
    /// column's key names; without a SemanticLabels column the ground truth is painted from the
    /// instance masks (Label, Masks, IsCrowd; see <see cref="CocoGroundTruthMaps"/>), label k = key k.
    /// Predicted maps are held in memory (4 bytes a pixel) until the evaluation runs.</para>
    /// <para>One cursor pass reads only the columns the tasks need. Any problem — a missing column, a
    /// wrong type, vectors whose lengths disagree, a NaN box, score or keypoint, an undecodable mask —
    /// raises an <see cref="ArgumentException"/> naming the column and the row.</para>
    /// </remarks>
    /// <param name="catalog">The segmentation catalog.</param>
    /// <param name="data">The scored data: one row per image.</param>
    /// <param name="labelColumnName">Vector&lt;Key&lt;UInt32&gt;&gt;, one key per object, the class names as KeyValues.</param>
    /// <param name="boundingBoxColumnName">Vector&lt;Single&gt;, x0, y0, x1, y1 per object.</param>
    /// <param name="maskColumnName">Vector&lt;Text&gt;, a COCO compressed RLE string per object.</param>
    /// <param name="keypointColumnName">Vector&lt;Single&gt;, x, y, v per keypoint, 3·K per object.</param>
    /// <param name="isCrowdColumnName">Vector&lt;Boolean&gt;, COCO's iscrowd per object (optional).</param>
    /// <param name="areaColumnName">Vector&lt;Double&gt;, COCO's area per object (optional; see remarks).</param>
    /// <param name="widthColumnName">Int32, the image width (required with masks).</param>
    /// <param name="heightColumnName">Int32, the image height (required with masks).</param>
    /// <param name="imageIdColumnName">Int64, the COCO image id (optional).</param>
    /// <param name="semanticLabelsColumnName">Text, the path of the image's PNG label map.</param>
    /// <param name="predictedLabelColumnName">Vector&lt;Key&lt;UInt32&gt;&gt;, one key per detection.</param>
    /// <param name="scoreColumnName">Vector&lt;Single&gt;, one score per detection.</param>
    /// <param name="predictedBoundingBoxColumnName">Vector&lt;Single&gt;, x0, y0, x1, y1 per detection.</param>
    /// <param name="predictedMaskColumnName">Vector&lt;Text&gt;, a COCO compressed RLE string per detection.</param>
    /// <param name="predictedKeypointColumnName">Vector&lt;Single&gt;, x, y, score per keypoint, 3·K per detection.</param>
    /// <param name="predictedSemanticLabelsColumnName">Vector&lt;UInt16&gt;, the predicted class per pixel.</param>
    /// <param name="tasks">What to evaluate; null means every task whose prediction column the data has
    /// (PredictedBoundingBoxes → Boxes, PredictedMasks → Masks, PredictedKeypoints → Keypoints,
    /// PredictedSemanticLabels → Semantic). Panoptic is not available from columns.</param>
    /// <param name="options">Engine settings: images to evaluate, keypoint sigmas (needed unless K = 17,
    /// the COCO person keypoints), category subset, parallelism, Boundary IoU, semantic class names.</param>
    /// <returns>The metrics, with the underlying <see cref="SegmentationEvaluation"/>.</returns>
    /// <exception cref="ArgumentException">A column is missing or of the wrong type, or a row's values are inconsistent; the message names the column and the row.</exception>
    /// <example><code>
    /// var scored = model.Transform(testData);
    /// var metrics = mlContext.Segmentation().Evaluate(scored);
    /// Console.WriteLine($"box AP {metrics.Box!.AP:P1}, mask AP {metrics.Mask!.AP:P1}");
    /// Console.WriteLine(metrics.ToTable());
    /// </code></example>
    public static SegmentationMetrics Evaluate(this SegmentationCatalog catalog, IDataView data,
        string? labelColumnName = SegmentationColumns.Label,
        string? boundingBoxColumnName = SegmentationColumns.BoundingBoxes,
        string? maskColumnName = SegmentationColumns.Masks,
        string? keypointColumnName = SegmentationColumns.Keypoints,
        string? isCrowdColumnName = SegmentationColumns.IsCrowd,
        string? areaColumnName = SegmentationColumns.Area,
        string? widthColumnName = SegmentationColumns.Width,
        string? heightColumnName = SegmentationColumns.Height,
        string? imageIdColumnName = SegmentationColumns.ImageId,
        string? semanticLabelsColumnName = SegmentationColumns.SemanticLabels,
        string? predictedLabelColumnName = SegmentationColumns.PredictedLabel,
        string? scoreColumnName = SegmentationColumns.Score,
        string? predictedBoundingBoxColumnName = SegmentationColumns.PredictedBoundingBoxes,
        string? predictedMaskColumnName = SegmentationColumns.PredictedMasks,
        string? predictedKeypointColumnName = SegmentationColumns.PredictedKeypoints,
        string? predictedSemanticLabelsColumnName = SegmentationColumns.PredictedSemanticLabels,
        SegmentationTasks? tasks = null,
        SegmentationEvaluationOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(data);
        var names = new ScoredColumnNames(labelColumnName, boundingBoxColumnName, maskColumnName, keypointColumnName,
            isCrowdColumnName, areaColumnName, widthColumnName, heightColumnName, imageIdColumnName, semanticLabelsColumnName,
            predictedLabelColumnName, scoreColumnName, predictedBoundingBoxColumnName, predictedMaskColumnName,
            predictedKeypointColumnName, predictedSemanticLabelsColumnName);
        return ScoredDataReader.Evaluate(data, names, tasks, options);
    }
}
