using Microsoft.ML;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.MaskLab;
using MLNetSeg.Models.TensorMask;
using MLNetSeg.Models.Panoptic;
using MLNetSeg.Data.Semantic;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Trainers;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Packaging.Tests.Readme;

/// <summary>
/// Every C# block of the README, compiled here: <see cref="ReadmeTests"/> checks that the README
/// shows exactly the lines between the snippet markers, and the consumer test
/// (<see cref="PackageTests"/>) compiles this file against the packages and runs the snippets in
/// a folder holding the files they name. Only public API of the packages may appear here.
/// </summary>
public static class ReadmeSnippets
{
    /// <summary>README "Using it from C#": a torchvision checkpoint through the typed predictor.</summary>
    public static Instances PredictWithTorchvisionWeights()
    {
        // snippet: csharp-predict
        using var model = TorchvisionWeights.MaskRcnnResNet50FpnCocoV1.Load("maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth");
        var image = ImageIO.Read("street.jpg");
        Instances instances = model.Predict(image);
        foreach (var det in instances)      // Box (X1, Y1, X2, Y2), Label, Score, Mask (COCO RLE), Keypoints
            Console.WriteLine($"{TorchvisionWeights.CocoCategories[det.Label]} {det.Score:0.00} {det.Box}");
        ImageIO.WritePng(Visualizer.Draw(image, instances, TorchvisionWeights.CocoCategories), "street.overlay.png");
        // end snippet
        return instances;
    }

    /// <summary>README "Using it from C#": training through the typed API (compiled, not run by the tests).</summary>
    public static SegmentationResult TrainTyped()
    {
        // snippet: csharp-train
        var train = DetectionDataset.Load("train.json", "train_images/");
        var val   = DetectionDataset.Load("val.json", "val_images/");
        var trainer = new SegmentationTrainer(new TrainingOptions
        {
            Model = MaskRcnnOptions.FromTorchvision(TorchvisionWeights.MaskRcnnResNet50FpnCocoV1, "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth"),
            Schedule = new ScheduleOptions { Iterations = 20_000 },     // or Epochs, or TimeBudget = TimeSpan.FromHours(2)
            Data = new DataOptions { BatchSize = 4 },
            Checkpoints = new CheckpointOptions { Directory = "runs/exp1" },
        });
        using TrainedModel model = trainer.Fit(train, val);   // progress, atomic checkpoints, exact resume, evaluation
        model.Save("exp1.mlseg");                              // weights + family + architecture + classes + preprocessing
        SegmentationResult result = model.Predict(ImageIO.Read("street.jpg"));   // result.Instances, result.Semantic, ...
        // end snippet
        _ = ResNetDepth.ResNet50;
        return result;
    }

    /// <summary>README "MaskLab": training the MaskLab family through the typed API (compiled, not run by the tests).</summary>
    public static void TrainMaskLab(DetectionDataset train, DetectionDataset val)
    {
        // snippet: masklab-train
        var options = new MaskLabOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact,
                                           CropSize = 21 };   // Semantic, Direction, Refinement, DeformableCrop: on by default
        using TrainedModel model = new SegmentationTrainer(new TrainingOptions { Model = options, Schedule = new ScheduleOptions { Iterations = 600 } })
            .Fit(train, val);
        // end snippet
    }

    /// <summary>README "TensorMask": training the TensorMask family through the typed API (compiled, not run by the tests).</summary>
    public static void TrainTensorMask(DetectionDataset train, DetectionDataset val)
    {
        // snippet: tensormask-train
        var options = new TensorMaskOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, BackboneWidth = 32, FpnChannels = 64,
                                              Levels = 4, WindowSizes = new[] { 60 }, MinSize = 192, MaxSize = 256 };   // Head: Bipyramid by default
        using TrainedModel model = new SegmentationTrainer(new TrainingOptions { Model = options, Schedule = new ScheduleOptions { Iterations = 400 } })
            .Fit(train, val);
        // end snippet
    }

    /// <summary>README "Semantic and panoptic segmentation with IMP" (compiled, not run by the tests).</summary>
    public static SegmentationResult TrainPanoptic()
    {
        // snippet: panoptic-train
        var classes = SemanticClassList.Read("data/semantic/labels.json");           // the label maps' classes: things, then stuff
        var train = DetectionDataset.Load("data/annotations/instances_train.json", "data/train",
            new DetectionDatasetOptions { SemanticDirectory = "data/semantic/train" });   // one label-map PNG per image
        var options = new PanopticOptions { SemanticClasses = classes, SemanticHead = SemanticHeadKind.Fpn, Imp = true,  // Panoptic-FPN-IMP
                                            PretrainedWeights = "maskrcnn.mlseg" };   // the paper's two stages: start from a Mask R-CNN
        using TrainedModel model = new SegmentationTrainer(new TrainingOptions { Model = options, Schedule = new ScheduleOptions { Iterations = 300 } })
            .Fit(train);
        var image = ImageIO.Read("street.png");
        SegmentationResult result = model.Predict(image);                            // Instances, Semantic (label map), Panoptic
        ImageIO.WritePng(Visualizer.DrawSemantic(image, result.Semantic!, classes), "street.semantic.png");
        // end snippet
        return result;
    }

    /// <summary>README "Comparing models": the ML.NET comparison (compiled, not run by the tests).</summary>
    public static SegmentationComparisonResult CompareFamilies(MLContext ml, IDataView train, IDataView val)
    {
        // snippet: compare
        var recipe = new RcnnOptions { TrainableBackboneLayers = 5, BoxBatchSizePerImage = 256, HeadPositivesPerImage = 8 };
        var result = ml.Segmentation().Trainers.Compare(train, val, new ComparisonOptions
        {
            Candidates =
            [
                new("maskrcnn", new MaskRcnnOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact, Settings = recipe }),
                new("masklab", new MaskLabOptions { Backbone = ResNetDepth.ResNet18, Norm = BackboneNorm.BatchNorm, Widths = DetectorWidths.Compact, Settings = recipe }),
            ],
            Budget = TimeSpan.FromMinutes(30),       // the whole comparison: training, validation and timing of every trial
            Directory = "runs/compare",              // every trial's model and metrics; a rerun continues a stopped comparison
            Progress = new Progress<ComparisonProgress>(p => Console.WriteLine(p.Message)),
        });
        Console.Write(result.Leaderboard.ToTable());  // ranked by segm/AP (the metric the candidates share, or Metric = ...)
        IDataView scored = result.BestModel.Transform(val);
        // end snippet
        return result;
    }

    /// <summary>README "Using it from ML.NET": fit → transform → evaluate → save.</summary>
    public static SegmentationMetrics TrainEvaluateSave()
    {
        // snippet: mlnet-train
        var ml = new MLContext(seed: 1);
        IDataView train = ml.Data.LoadFromCoco("train.json", "train_images/");   // lazy: ImagePath, Label, BoundingBoxes, Masks, ...
        IDataView val = ml.Data.LoadFromCoco("val.json", "val_images/");

        var trainer = ml.Segmentation().Trainers.MaskRcnn(
            imageColumnName: "ImagePath", iterations: 20_000, batchSize: 4, checkpointDirectory: "runs/exp1",
            model: MaskRcnnOptions.FromTorchvision(TorchvisionWeights.MaskRcnnResNet50FpnCocoV1, "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth"));
        using SegmentationTransformer model = trainer.Fit(train);    // progress in MLContext.Log and on the console

        IDataView scored = model.Transform(val);                     // PredictedLabel, Score, PredictedBoundingBoxes, PredictedMasks
        var metrics = ml.Segmentation().Evaluate(scored);            // pycocotools-exact box and mask AP
        Console.Write(metrics.ToTable());

        ml.Model.Save(model, val.Schema, "model.zip");               // the model travels inside the zip
        model.Model.Save("model.mlseg");                             // the same model for the typed API and the CLI
        // end snippet
        return metrics;
    }

    /// <summary>README "Using it from ML.NET": load the zip in another process and predict.</summary>
    public static SegmentationPrediction LoadAndPredict()
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
        _ = apply;
        return p;
    }

    /// <summary>The input class of the snippet (the column LoadFromCoco gives).</summary>
    // snippet: mlnet-input
    public sealed class ImageFile
    {
        public string ImagePath { get; set; } = "";
    }
    // end snippet

    /// <summary>README "Using the engine".</summary>
    public static float[] Engine()
    {
        // snippet: engine
        using var scope = DisposeScope.Enter();                 // frees every tensor made in it
        var x = Tensor.FromArray(new float[] { 1, 2, 3 }, 3).RequiresGrad_();
        var y = (x * x).Sum();
        y.Backward();
        Console.WriteLine(x.Grad);                               // Tensor[3] Float32 [2, 4, 6]

        // Any registered operator is reachable through the dispatcher:
        var nms = new Op("torchvision::nms");
        // end snippet
        _ = nms;
        return x.Grad!.ToArray<float>();
    }
}
