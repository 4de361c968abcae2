using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Trainers;
using MLNetSeg.Transforms;

namespace MLNetSeg.Transforms.Tests.Readme;

/// <summary>
/// The code of the README's "Using it from ML.NET" section, compiled here; <see cref="ReadmeTests"/>
/// checks that the README shows exactly the lines between the snippet markers.
/// </summary>
internal static class ReadmeSnippets
{
    public static void TrainEvaluateSave()
    {
        // snippet: mlnet-train
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadFromCoco("train.json", "train_images/");   // lazy: ImagePath, Label, BoundingBoxes, Masks, ...
        IDataView val = ml.Data.LoadFromCoco("val.json", "val_images/");

        var trainer = ml.Segmentation().Trainers.MaskRcnn(
            imageColumnName: "ImagePath", iterations: 20_000, batchSize: 4, checkpointDirectory: "runs/exp1",
            model: new MaskRcnnOptions { PretrainedWeights = "maskrcnn_resnet50_fpn_coco.pth" });
        using SegmentationTransformer model = trainer.Fit(train);    // progress in MLContext.Log and on the console

        IDataView scored = model.Transform(val);                     // PredictedLabel, Score, PredictedBoundingBoxes, PredictedMasks
        var metrics = ml.Segmentation().Evaluate(scored);            // pycocotools-exact box and mask AP
        Console.Write(metrics.ToTable());

        ml.Model.Save(model, val.Schema, "model.zip");               // the model travels inside the zip
        // end snippet
    }

    public static void LoadAndPredict()
    {
        // snippet: mlnet-predict
        var ml = new MLContext();
        ITransformer pipeline = ml.Model.Load("model.zip", out var inputSchema);   // in any process referencing MLNetSeg
        var engine = ml.Model.CreatePredictionEngine<ImageFile, SegmentationPrediction>(pipeline);
        SegmentationPrediction p = engine.Predict(new ImageFile { ImagePath = "street.png" });
        // p.PredictedLabel (1-based keys into the class names), p.Score, p.PredictedBoundingBoxes (x0, y0, x1, y1),
        // p.PredictedMasks (COCO RLE strings: MaskEncoding.Decode), p.ToInstances(height, width)

        // Apply a .mlseg file (from TrainedModel.Save or `mlnetseg train`) to LoadImages' MLImage column:
        var apply = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ApplySegmentationModel("model.mlseg", imageColumnName: "Image"));
        // end snippet
    }

    /// <summary>The input class of the snippet (the column LoadFromCoco gives).</summary>
    // snippet: mlnet-input
    public sealed class ImageFile
    {
        public string ImagePath { get; set; } = "";
    }
    // end snippet
}
