using MLNetSeg.Cli;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Vision.Imaging;

using MLNetSeg.Training;

namespace MLNetSeg.Cli.Tests;

/// <summary>
/// <c>mlnetseg train</c> end to end on the Tiny set: exit code, printed COCO table, the files in
/// --out, that the saved model loads and predicts the same as the model file it came from, and
/// named errors for bad arguments.
/// </summary>
[TestClass]
public sealed class TrainCliTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    private static (int Code, string Out, string Err) Run(params string[] args) => CliRunner.Run(args);

    [TestMethod]
    public void TrainWritesCheckpointsModelsAndTheEvaluationTable()
    {
        using var dir = new TempDir();
        var val = Path.Combine(_data.Root, "annotations", "instances_val.json");
        var (code, stdout, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages,
            "--val-json", val, "--val-images", Path.Combine(_data.Root, "val"), "--out", dir.Path,
            "--iterations", "2", "--set", "Backbone=ResNet18", "--set", "Norm=BatchNorm", "--set", "Settings.MinSize=64",
            "--set", "Settings.MaxSize=128", "--set", "Settings.BoxBatchSizePerImage=32", "--set", "Settings.BoxDetectionsPerImage=10",
            "--threads", "2", "--workers", "1", "--lr", "0.01");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "training Mask R-CNN (Backbone ResNet18, Norm BatchNorm, Settings.MinSize 64, Settings.MaxSize 128, " +
                                      "Settings.BoxDetectionsPerImage 10, Settings.BoxBatchSizePerImage 32; 6 classes) from scratch: 2 iterations");
        StringAssert.Contains(stdout, "validation at iteration 2: loss cls ");  // the validation loss, then the COCO metrics
        StringAssert.Contains(stdout, " segm/AP ");
        StringAssert.Contains(stdout, "| iou type |  AP | AP50 |");
        StringAssert.Contains(stdout, "| segm ");
        StringAssert.Contains(stdout, $"final model: {Path.Combine(dir.Path, "model_final.mlseg")}");
        var files = Directory.GetFiles(dir.Path).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { "best.mlseg", TrainingCheckpoint.FileName(2), MetricsLog.FileName, "model_final.mlseg" }, files);

        // The saved model is complete: it loads on its own and predicts what the final model does.
        var info = ModelFile.ReadInfo(Path.Combine(dir.Path, "model_final.mlseg"));
        CollectionAssert.AreEqual(new[] { "__background__", "person", "circle", "square", "triangle", "star", "ellipse" }, info.ClassNames.ToArray());
        Assert.AreEqual("maskrcnn", info.Family);
        using var a = TrainedModel.Load(Path.Combine(dir.Path, "model_final.mlseg"));
        using var b = TrainedModel.Load(Path.Combine(dir.Path, "best.mlseg"));
        var settings = ((MaskRcnn)a.Model).Options;
        Assert.AreEqual(64, settings.MinSize);
        Assert.AreEqual(10, settings.BoxDetectionsPerImage);
        var image = ImageIO.Read(Directory.GetFiles(Path.Combine(_data.Root, "val")).Order(StringComparer.Ordinal).First());
        var pa = a.Predict(image).Instances!;
        var pb = b.Predict(image).Instances!;
        Assert.AreEqual(pa.Count, pb.Count, "best.mlseg (iteration 2, the only evaluation) is the final model");
        CollectionAssert.AreEqual(pa.Boxes.ToXyxy(), pb.Boxes.ToXyxy());

        // A second run with the same --out resumes (and has nothing left to do).
        var (again, stdout2, stderr2) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Path,
            "--iterations", "2", "--set", "Backbone=ResNet18", "--set", "Norm=BatchNorm", "--set", "Settings.MinSize=64",
            "--set", "Settings.MaxSize=128", "--set", "Settings.BoxBatchSizePerImage=32", "--set", "Settings.BoxDetectionsPerImage=10",
            "--threads", "2", "--workers", "1", "--lr", "0.01");
        Assert.AreEqual(0, again, stderr2);
        StringAssert.Contains(stdout2, $"resuming from {Path.Combine(dir.Path, TrainingCheckpoint.FileName(2))} (iteration 2");
    }

    [TestMethod]
    public void TheCpuRecipeOptionsReachTheModelFile()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Path,
            "--iterations", "1", "--set", "backbone=resnet18", "--set", "Norm=BatchNorm", "--set", "Settings.MinSize=64", "--set", "Settings.MaxSize=128",
            "--set", "Widths=Compact", "--set", "Settings.AnchorSizes=16,32,64,128,256", "--set", "Settings.BoxBatchSizePerImage=64",
            "--set", "Settings.HeadPositivesPerImage=2", "--threads", "2", "--workers", "1", "--lr", "0.01");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "Widths.Backbone 32, Widths.Fpn 64, Widths.BoxHead 256, Widths.MaskHead 64");
        var (model, _) = ModelFile.Load<MaskRcnn>(Path.Combine(dir.Path, "model_final.mlseg"));
        using var _ = model;
        Assert.AreEqual(DetectorWidths.Compact with { KeypointHead = DetectorWidths.Torchvision.KeypointHead }, ModelArchitecture.Of(model).Widths,
            "compact widths (a mask model records the keypoint width it does not have as torchvision's)");
        CollectionAssert.AreEqual(new[] { 16.0, 32, 64, 128, 256 }, model.Options.AnchorSizes.ToArray());
        Assert.AreEqual(64, model.Options.BoxBatchSizePerImage);
        Assert.AreEqual(2, model.Options.HeadPositivesPerImage);
    }

    [TestMethod]
    public void BadArgumentsAndFilesAreNamed()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = Run("train", "--train-json", Path.Combine(dir.Path, "missing.json"), "--train-images", dir.Path, "--out", dir.Sub("o"), "--iterations", "1");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "missing.json");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--iterations", "1", "--set", "Backbone=resnet19");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "--set Backbone=resnet19: 'resnet19' is not one of ResNet18, ResNet34");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--iterations", "1", "--set", "Settings.MinSise=64");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "--set Settings.MinSise=64: RcnnOptions has no setting 'MinSise'");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--iterations", "1", "--family", "maskmagic");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "no model family 'maskmagic' is registered (known: keypointrcnn, masklab, maskrcnn");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"));
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "give one of --iterations, --epochs and --time-budget");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--iterations", "1", "--val-json", _data.TrainJson);
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "give both --val-json and --val-images");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--iterations", "1", "--batch-size", "0");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "TrainingOptions.Data.BatchSize must be at least 1, got 0");
    }
}
