using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Models;
using MLNetSeg.Models.Rcnn;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>The Keypoint R-CNN path: person keypoints in, keypoint loss out, a keypoint model file.</summary>
[TestClass]
public sealed class KeypointTrainingTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    [TestMethod]
    public void KeypointRcnnTrainsOnPersonKeypointsAndSavesAKeypointModel()
    {
        using var dir = new TempDir();
        var train = DetectionDataset.Load(SyntheticDatasetGenerator.KeypointsJsonPath(_data.Root, "train"), _data.TrainImages,
            new DetectionDatasetOptions { LoadMasks = false, RemoveImagesWithoutAnnotations = true });
        Assert.AreEqual(17, train.KeypointsPerInstance);
        Assert.IsTrue(train.Count >= 2, $"{train.Count} images with persons");
        var log = new ProgressLog();
        var options = FastOptions(dir.Path, 1, log) with
        {
            // The keypoint head (8 convs of 512 channels per RoI) is the cost: few RoIs.
            Model = FastKeypointModel with { Settings = FastKeypointModel.Settings with { BoxBatchSizePerImage = 4 } },
        };
        using var detector = new MaskRcnnTrainer(options).Fit(train);

        var losses = log.Losses[1];
        Assert.IsTrue(losses.ContainsKey(RcnnLosses.KeypointKey) && double.IsFinite(losses[RcnnLosses.KeypointKey]), string.Join(", ", losses.Keys));
        Assert.IsFalse(losses.ContainsKey(RcnnLosses.MaskKey));
        var info = ModelFile.ReadInfo(Path.Combine(dir.Path, "model_final.mlseg"));
        Assert.AreEqual(KeypointRcnnFamily.FamilyName, info.Family);
        Assert.AreEqual(17, info.Keypoints!.Count);
        CollectionAssert.AreEqual(new[] { "__background__", "person" }, info.ClassNames.ToArray());

        // A mask model cannot train on a dataset loaded without masks.
        var ex = Assert.ThrowsException<ArgumentException>(() => new MaskRcnnTrainer(FastOptions(null, 1)).Fit(train));
        StringAssert.Contains(ex.Message, "LoadMasks = false");
    }
}
