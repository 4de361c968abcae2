using MLNetSeg.Cli;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Tests.Shared;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Training.Tests.Training;

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
            "--iterations", "2", "--backbone", "resnet18", "--min-size", "64", "--max-size", "128", "--rois-per-image", "32",
            "--detections-per-image", "10", "--threads", "2", "--workers", "1", "--lr", "0.01");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "training maskrcnn resnet18 (FPN 2, heads v1, 6 classes) from scratch: 2 iterations");
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
        Assert.AreEqual(64, info.Options!.MinSize);
        Assert.AreEqual(10, info.Options.BoxDetectionsPerImage);
        using var a = TrainedDetector.Load(Path.Combine(dir.Path, "model_final.mlseg"));
        using var b = TrainedDetector.Load(Path.Combine(dir.Path, "best.mlseg"));
        var image = ImageIO.Read(Directory.GetFiles(Path.Combine(_data.Root, "val")).Order(StringComparer.Ordinal).First());
        var pa = a.Predict(image);
        var pb = b.Predict(image);
        Assert.AreEqual(pa.Count, pb.Count, "best.mlseg (iteration 2, the only evaluation) is the final model");
        CollectionAssert.AreEqual(pa.Boxes.ToXyxy(), pb.Boxes.ToXyxy());

        // A second run with the same --out resumes (and has nothing left to do).
        var (again, stdout2, stderr2) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Path,
            "--iterations", "2", "--backbone", "resnet18", "--min-size", "64", "--max-size", "128", "--rois-per-image", "32",
            "--detections-per-image", "10", "--threads", "2", "--workers", "1", "--lr", "0.01");
        Assert.AreEqual(0, again, stderr2);
        StringAssert.Contains(stdout2, $"resuming from {Path.Combine(dir.Path, TrainingCheckpoint.FileName(2))} (iteration 2");
    }

    [TestMethod]
    public void TheCpuRecipeOptionsReachTheModelFile()
    {
        using var dir = new TempDir();
        var (code, stdout, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Path,
            "--iterations", "1", "--backbone", "resnet18", "--min-size", "64", "--max-size", "128", "--widths", "compact",
            "--anchor-sizes", "16", "32", "64", "128", "256", "--rois-per-image", "64", "--head-positives-per-image", "2",
            "--threads", "2", "--workers", "1", "--lr", "0.01");
        Assert.AreEqual(0, code, stderr);
        StringAssert.Contains(stdout, "widths: backbone 32, fpn 64, box head 256, mask head 64");
        var info = ModelFile.ReadInfo(Path.Combine(dir.Path, "model_final.mlseg"));
        Assert.AreEqual(DetectorWidths.Compact with { KeypointHead = DetectorWidths.Torchvision.KeypointHead }, info.Architecture!.Widths,
            "compact widths (a mask model records the keypoint width it does not have as torchvision's)");
        CollectionAssert.AreEqual(new[] { 16.0, 32, 64, 128, 256 }, info.Options!.AnchorSizes.ToArray());
        Assert.AreEqual(64, info.Options.BoxBatchSizePerImage);
        Assert.AreEqual(2, info.Options.HeadPositivesPerImage);
    }

    [TestMethod]
    public void BadArgumentsAndFilesAreNamed()
    {
        using var dir = new TempDir();
        var (code, _, stderr) = Run("train", "--train-json", Path.Combine(dir.Path, "missing.json"), "--train-images", dir.Path, "--out", dir.Sub("o"));
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "missing.json");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--backbone", "resnet19");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "unknown ResNet variant 'resnet19'");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--val-json", _data.TrainJson);
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "give both --val-json and --val-images");

        (code, _, stderr) = Run("train", "--train-json", _data.TrainJson, "--train-images", _data.TrainImages, "--out", dir.Sub("o"), "--batch-size", "0");
        Assert.AreEqual(CliApp.InputError, code);
        StringAssert.Contains(stderr, "TrainerOptions.BatchSize must be at least 1, got 0");
    }
}
