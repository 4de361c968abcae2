using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Vision.Tests.Structures;

/// <summary>
/// BitMask, Keypoints, Instances and SemanticLabelMap. Expected values come from pycocotools or
/// numpy fixtures where a reference computes them, otherwise from the documented COCO/torchvision
/// conventions worked out by hand in the comments.
/// </summary>
[TestClass]
public class InstanceStructuresTests
{
    [TestMethod]
    public void BitMaskRoundTripsThroughArraysAndIndexing()
    {
        var grid = new bool[,] { { false, true, false }, { true, true, false } };
        var mask = BitMask.FromArray(grid);
        Assert.AreEqual(2, mask.Height);
        Assert.AreEqual(3, mask.Width);
        Assert.AreEqual(3L, mask.Area);
        CollectionAssert.AreEqual(grid, mask.ToArray());
        CollectionAssert.AreEqual(new byte[] { 0, 1, 0, 1, 1, 0 }, mask.ToRowMajorBytes());
        mask[1, 2] = true;
        Assert.IsTrue(mask[1, 2]);
        // Non-zero bytes count as set, like numpy's astype(bool).
        Assert.AreEqual(mask, BitMask.FromRowMajor(2, 3, new byte[] { 0, 7, 0, 255, 1, 1 }));
        var outside = Assert.ThrowsException<ArgumentOutOfRangeException>(() => mask[2, 0]);
        StringAssert.Contains(outside.Message, "(y=2, x=0)");
        var wrongLength = Assert.ThrowsException<ArgumentException>(() => BitMask.FromRowMajor(2, 3, new byte[5]));
        StringAssert.Contains(wrongLength.Message, "needs 6 values, got 5");
    }

    [TestMethod]
    public void MaskListBoxesAgreeWithPycocotoolsToBbox()
    {
        var cases = RleFixtures.Load("masks.json").GetProperty("masks").EnumerateArray()
            .Where(c => c.GetProperty("height").GetInt32() == 11 && c.GetProperty("width").GetInt32() == 9).ToList();
        Assert.AreEqual(2, cases.Count, "the two 11x9 single-pixel masks");
        var masks = cases.Select(c => BitMask.FromRowMajor(11, 9, RleFixtures.UnpackBits(c.GetProperty("bits").GetString()!, 99))).ToList();
        var rles = BitMasks.Encode(masks);
        CollectionAssert.AreEqual(cases.Select(c => c.GetProperty("counts").GetString()).ToArray(), rles.Select(r => r.ToCompressedString()).ToArray());
        var expected = cases.SelectMany(c =>
        {
            var b = RleFixtures.Doubles(c.GetProperty("bbox_xywh"));
            return new[] { (float)b[0], (float)b[1], (float)(b[0] + b[2]), (float)(b[1] + b[3]) };
        }).ToArray();
        CollectionAssert.AreEqual(expected, BitMasks.ToBoxes(masks).ToXyxy());
        CollectionAssert.AreEqual(expected, BitMasks.ToBoxes(rles).ToXyxy());
        CollectionAssert.AreEqual(masks, BitMasks.Decode(rles));
        var mixed = Assert.ThrowsException<ArgumentException>(() => BitMasks.Encode(new[] { new BitMask(2, 2), new BitMask(2, 3) }));
        StringAssert.Contains(mixed.Message, "masks[1] is 2x3");
    }

    [TestMethod]
    public void CocoPersonSchemaHasTheSeventeenCocoKeypoints()
    {
        var s = KeypointSchema.CocoPerson;
        Assert.AreEqual(17, s.Count);
        Assert.AreEqual("nose", s.Names[0]);
        Assert.AreEqual("right_ankle", s.Names[16]);
        Assert.AreEqual(19, s.Skeleton.Count);
        // COCO's first edge [16, 14] is left_ankle–left_knee once made 0-based.
        Assert.AreEqual((s.IndexOf("left_ankle"), s.IndexOf("left_knee")), s.Skeleton[0]);
        for (int i = 0; i < 17; i++)
        {
            string name = s.Names[i], flipped = s.Names[s.FlipMap[i]];
            string expected = name.StartsWith("left_") ? "right_" + name[5..] : name.StartsWith("right_") ? "left_" + name[6..] : name;
            Assert.AreEqual(expected, flipped, $"flip of {name}");
        }
        var bad = Assert.ThrowsException<ArgumentException>(() => new KeypointSchema(new[] { "a", "b" }, new[] { (0, 1) }, new[] { 1, 1 }));
        StringAssert.Contains(bad.Message, "flipMap[0] = 1");
    }

    [TestMethod]
    public void HorizontalFlipMirrorsXSwapsSidesAndZeroesUnlabelledPoints()
    {
        // One person on a 100-pixel-wide image: nose at (40, 10, v=2), left_eye at (45, 8, v=1),
        // right_eye unlabelled (7, 7, v=0), everything else unlabelled.
        var data = new float[17 * 3];
        data[0] = 40; data[1] = 10; data[2] = 2;
        data[3] = 45; data[4] = 8; data[5] = 1;
        data[6] = 7; data[7] = 7; data[8] = 0;
        var kp = new Keypoints(1, 17, data);
        var flipped = kp.FlipHorizontal(100, KeypointSchema.CocoPerson);
        // torchvision's rule: take keypoints in flip order, x -> width - x, zero rows with v == 0.
        Assert.AreEqual(60f, flipped.X(0, 0));
        Assert.AreEqual(10f, flipped.Y(0, 0));
        Assert.AreEqual(2f, flipped.Visibility(0, 0));
        // The old left_eye is now the right_eye.
        Assert.AreEqual(55f, flipped.X(0, 2));
        Assert.AreEqual(8f, flipped.Y(0, 2));
        Assert.AreEqual(1f, flipped.Visibility(0, 2));
        // The old (unlabelled) right_eye lands on left_eye as zeros.
        Assert.AreEqual(0f, flipped.X(0, 1));
        Assert.AreEqual(0f, flipped.Y(0, 1));
        Assert.AreEqual(0f, flipped.Visibility(0, 1));
        var wrongSchema = Assert.ThrowsException<ArgumentException>(() => new Keypoints(1, 3, new float[9]).FlipHorizontal(10, KeypointSchema.CocoPerson));
        StringAssert.Contains(wrongSchema.Message, "17 keypoints");
    }

    [TestMethod]
    public void AnInstanceIsOneRowOfEveryField()
    {
        var boxes = Boxes.FromXyxy(new float[] { 0, 0, 2, 2, 1, 1, 3, 4 });
        var masks = new[] { Rle.FromBox(new double[] { 0, 0, 2, 2 }, 5, 6), Rle.FromBox(new double[] { 1, 1, 2, 3 }, 5, 6) };
        var keypoints = new Keypoints(2, 2, new float[] { 1, 2, 2, 3, 4, 1, 5, 6, 0, 7, 8, 2 });
        var inst = new Instances(5, 6, boxes, new[] { 7, 8 }, new[] { 0.9f, 0.3f }, masks, keypoints, new[] { 0.1f, 0.2f, 0.3f, 0.4f });

        var second = inst[1];
        Assert.AreEqual(new Box(1, 1, 3, 4), second.Box);
        Assert.AreEqual((8, 0.3f), (second.Label, second.Score!.Value));
        Assert.AreSame(masks[1], second.Mask);
        CollectionAssert.AreEqual(new[] { new Keypoint(5, 6, 0, 0.3f), new Keypoint(7, 8, 2, 0.4f) }, second.Keypoints!.ToArray());
        CollectionAssert.AreEqual(new[] { 7, 8 }, inst.Select(i => i.Label).ToArray(), "foreach / LINQ walk the instances in order");
        Assert.ThrowsException<ArgumentOutOfRangeException>(() => inst[2]);

        var groundTruth = new Instances(5, 6, boxes, new[] { 7, 8 });
        Assert.AreEqual(new Instance(new Box(0, 0, 2, 2), 7, null, null, null), groundTruth[0]);
    }

    [TestMethod]
    public void InstancesSelectSlicesEveryFieldAlike()
    {
        var boxes = Boxes.FromXyxy(new float[] { 0, 0, 2, 2, 1, 1, 3, 4, 2, 0, 4, 1 });
        var masks = new[]
        {
            Rle.FromBox(new double[] { 0, 0, 2, 2 }, 5, 6),
            Rle.FromBox(new double[] { 1, 1, 2, 3 }, 5, 6),
            Rle.FromBox(new double[] { 2, 0, 2, 1 }, 5, 6),
        };
        var keypoints = new Keypoints(3, 2, Enumerable.Range(0, 18).Select(i => (float)i).ToArray());
        var kpScores = new float[] { 0.1f, 0.2f, 0.3f, 0.4f, 0.5f, 0.6f };
        var inst = new Instances(5, 6, boxes, new[] { 7, 8, 9 }, new[] { 0.9f, 0.3f, 0.6f }, masks, keypoints, kpScores);

        var picked = inst.Select(new[] { 2, 0 });
        Assert.AreEqual(2, picked.Count);
        CollectionAssert.AreEqual(new[] { 9, 7 }, picked.Labels.ToArray());
        CollectionAssert.AreEqual(new[] { 0.6f, 0.9f }, picked.Scores!.ToArray());
        CollectionAssert.AreEqual(new float[] { 2, 0, 4, 1, 0, 0, 2, 2 }, picked.Boxes.ToXyxy());
        Assert.AreSame(masks[2], picked.Masks![0]);
        CollectionAssert.AreEqual(new float[] { 12, 13, 14, 15, 16, 17, 0, 1, 2, 3, 4, 5 }, picked.Keypoints!.Data.ToArray());
        CollectionAssert.AreEqual(new[] { 0.5f, 0.6f, 0.1f, 0.2f }, picked.KeypointScoreData.ToArray());
        CollectionAssert.AreEqual(new[] { 0.5f, 0.6f }, picked.KeypointScores![0].ToArray(), "KeypointScores[i][k]: instance i's K scores");
        CollectionAssert.AreEqual(new[] { 0.1f, 0.2f }, picked.KeypointScores[1].ToArray());

        var confident = inst.WithMinimumScore(0.5f);
        CollectionAssert.AreEqual(new[] { 7, 9 }, confident.Labels.ToArray());
        CollectionAssert.AreEqual(new[] { 8 }, inst.Select(new[] { false, true, false }).Labels.ToArray());
        Assert.AreEqual(0, Instances.Empty(5, 6).Count);
    }

    [TestMethod]
    public void InstancesRejectFieldsOfTheWrongLengthNamingTheField()
    {
        var boxes = Boxes.FromXyxy(new float[] { 0, 0, 2, 2, 1, 1, 3, 4 });
        var labels = Assert.ThrowsException<ArgumentException>(() => new Instances(5, 6, boxes, new[] { 1 }));
        StringAssert.Contains(labels.Message, "Labels has 1 entries but Boxes has 2 instances");
        var scores = Assert.ThrowsException<ArgumentException>(() => new Instances(5, 6, boxes, new[] { 1, 2 }, new[] { 0.5f }));
        StringAssert.Contains(scores.Message, "Scores has 1 entries");
        var small = Rle.Encode(new BitMask(4, 6));
        var maskSize = Assert.ThrowsException<ArgumentException>(() =>
            new Instances(5, 6, boxes, new[] { 1, 2 }, masks: new[] { Rle.Encode(new BitMask(5, 6)), small }));
        StringAssert.Contains(maskSize.Message, "Masks[1] is 4x6 but the image is 5x6");
        var kp = new Keypoints(2, 17, new float[2 * 17 * 3]);
        var kpScores = Assert.ThrowsException<ArgumentException>(() => new Instances(5, 6, boxes, new[] { 1, 2 }, keypoints: kp, keypointScores: new float[17]));
        StringAssert.Contains(kpScores.Message, "KeypointScores has 17 values but 2 instances × 17 keypoints need 34");
        var orphan = Assert.ThrowsException<ArgumentException>(() => new Instances(5, 6, boxes, new[] { 1, 2 }, keypointScores: new float[34]));
        StringAssert.Contains(orphan.Message, "without Keypoints");
    }

    [TestMethod]
    public void SemanticPixelCountsMatchNumpyBincountIgnoring255()
    {
        var s = RleFixtures.Load("boxes_torchvision.json").GetProperty("semantic");
        int h = s.GetProperty("height").GetInt32(), w = s.GetProperty("width").GetInt32();
        var labels = s.GetProperty("labels").EnumerateArray().Select(v => v.GetInt32()).ToArray();
        var map = new SemanticLabelMap(h, w, labels);
        var expected = s.GetProperty("counts").EnumerateArray().Select(v => v.GetInt64()).ToArray();
        CollectionAssert.AreEqual(expected, map.CountPixels(s.GetProperty("num_classes").GetInt32()));
        Assert.IsTrue(labels.Contains(SemanticLabelMap.IgnoreLabel), "fixture should exercise the ignore label");

        var bytes = map.ToBytes();
        var fromBytes = SemanticLabelMap.FromBytes(h, w, bytes);
        CollectionAssert.AreEqual(labels, fromBytes.Labels.ToArray());
        Assert.AreEqual(expected[3], map.ToBitMask(3).Area);
        Assert.AreEqual(labels[2 * w + 5], map[2, 5]);
        var tooFew = Assert.ThrowsException<InvalidOperationException>(() => map.CountPixels(3));
        StringAssert.Contains(tooFew.Message, "neither a class in 0..2");
        var negative = Assert.ThrowsException<ArgumentException>(() => new SemanticLabelMap(1, 2, new[] { 0, -1 }));
        StringAssert.Contains(negative.Message, "(y=0, x=1) is -1");
    }
}
