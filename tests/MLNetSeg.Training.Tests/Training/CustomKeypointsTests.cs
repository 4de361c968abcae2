using System.Text.Json.Nodes;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Vision.Imaging;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>
/// A custom 5-keypoint schema end to end: the dataset's names, skeleton and derived flip map reach the
/// horizontal flip (the COCO person map would refuse 5 keypoints), the model file and the predictions,
/// and the keypoint evaluation runs with the user's per-keypoint sigmas.
/// </summary>
[TestClass]
public sealed class CustomKeypointsTests
{
    private static TinyDataset Data => TinyDataset.Shared;

    // COCO person keypoints kept (by index) and their new names.
    private static readonly (int Coco, string Name)[] Kept = { (0, "head"), (9, "left_hand"), (10, "right_hand"), (15, "left_foot"), (16, "right_foot") };

    /// <summary>The Tiny persons with 5 of their 17 keypoints, under new names and a star skeleton (1-based in the file).</summary>
    private static string FiveKeypointJson(string directory, string split)
    {
        var coco = JsonNode.Parse(File.ReadAllText(SyntheticDatasetGenerator.KeypointsJsonPath(Data.Root, split)))!.AsObject();
        foreach (var category in coco["categories"]!.AsArray())
        {
            category!["keypoints"] = new JsonArray(Kept.Select(k => (JsonNode)k.Name).ToArray());
            category["skeleton"] = new JsonArray(new JsonArray(1, 2), new JsonArray(1, 3), new JsonArray(1, 4), new JsonArray(1, 5));
        }
        foreach (var annotation in coco["annotations"]!.AsArray())
        {
            var all = annotation!["keypoints"]!.AsArray().Select(v => (double)v!).ToArray();
            var kept = Kept.SelectMany(k => new[] { all[3 * k.Coco], all[3 * k.Coco + 1], all[3 * k.Coco + 2] }).ToArray();
            annotation["keypoints"] = new JsonArray(kept.Select(v => (JsonNode)v).ToArray());
            annotation["num_keypoints"] = Kept.Count(k => all[3 * k.Coco + 2] > 0);
        }
        var path = Path.Combine(directory, $"five_{split}.json");
        File.WriteAllText(path, coco.ToJsonString());
        return path;
    }

    [TestMethod]
    public void AFiveKeypointSchemaTrainsSavesLoadsPredictsAndEvaluatesWithUserSigmas()
    {
        using var dir = new TempDir();
        var datasetOptions = new DetectionDatasetOptions { LoadMasks = false, RemoveImagesWithoutAnnotations = true, MinKeypointsPerImage = 1 };
        var train = DetectionDataset.Load(FiveKeypointJson(dir.Path, "train"), Data.TrainImages, datasetOptions);
        var val = DetectionDataset.Load(FiveKeypointJson(dir.Path, "val"), SyntheticDatasetGenerator.ImageDirectory(Data.Root, "val"),
            new DetectionDatasetOptions { LoadMasks = false });
        var schema = train.KeypointSchema!;
        CollectionAssert.AreEqual(Kept.Select(k => k.Name).ToArray(), schema.Names.ToArray());
        CollectionAssert.AreEqual(new[] { 0, 2, 1, 4, 3 }, schema.FlipMap.ToArray(), "left/right pairs derived from the names");

        var sigmas = new[] { 0.026, 0.062, 0.062, 0.089, 0.089 };
        var fast = FastOptions(dir.Sub("run"), 2);
        var options = fast with
        {
            Model = FastKeypointModel with { Settings = FastKeypointModel.Settings with { BoxBatchSizePerImage = 4 } },
            Data = fast.Data with { HorizontalFlip = true },
            Evaluation = fast.Evaluation with { AtEnd = true, KeypointSigmas = sigmas },
        };
        using var trained = new SegmentationTrainer(options).Fit(train, val);

        var evaluation = trained.Summary!.Evaluation!;
        Assert.IsNotNull(evaluation.Keypoints, "the keypoint evaluation ran with the user's sigmas");
        CollectionAssert.AreEqual(sigmas, evaluation.Keypoints.Params.KeypointSigmas!.ToArray());
        Assert.IsTrue(evaluation.Metrics.ContainsKey("keypoints/AP"));

        var path = Path.Combine(dir.Sub("run"), "model_final.mlseg");
        var info = ModelFile.ReadInfo(path);
        CollectionAssert.AreEqual(schema.Names.ToArray(), info.Keypoints!.Names.ToArray());
        CollectionAssert.AreEqual(schema.Skeleton.ToArray(), info.Keypoints.Skeleton.ToArray());
        CollectionAssert.AreEqual(schema.FlipMap.ToArray(), info.Keypoints.FlipMap.ToArray());

        using var loaded = TrainedModel.Load(path);
        Assert.AreEqual(5, ((KeypointRcnn)loaded.Model).NumKeypoints);
        var image = ImageIO.Read(val.ImagePath(0));
        var before = trained.Predict(image).Instances!;
        var after = loaded.Predict(image).Instances!;
        Assert.IsTrue(after.Count > 0, "random-ish weights still give detections to compare");
        Assert.AreEqual(5, after.Keypoints!.KeypointsPerInstance);
        CollectionAssert.AreEqual(before.Keypoints!.Data.ToArray(), after.Keypoints.Data.ToArray(), "the loaded model predicts what the trained one does");

        // Without sigmas a 5-keypoint evaluation is refused with a clear message (pycocotools would fail on shapes).
        var ex = Assert.ThrowsException<ArgumentException>(() => loaded.Evaluate(val, workers: 1));
        StringAssert.Contains(ex.Message, "sigma");
        Assert.AreEqual(evaluation.Metrics["keypoints/AP"],
            loaded.Evaluate(val, workers: 1, options: new EvaluationOptions { KeypointSigmas = sigmas }).Metrics["keypoints/AP"],
            "evaluating the loaded model with the same sigmas gives the training run's figure");
    }
}
