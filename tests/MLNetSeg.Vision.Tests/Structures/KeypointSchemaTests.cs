using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Vision.Tests.Structures;

/// <summary>
/// Flip maps derived from keypoint names. The COCO person expectation is torchvision's
/// references/detection/transforms.py <c>_flip_coco_person_keypoints</c> permutation; the other
/// expectations are the pairings the names state, written out by hand.
/// </summary>
[TestClass]
public sealed class KeypointSchemaTests
{
    [TestMethod]
    public void TheCocoPersonNamesGiveTorchvisionsFlipPermutation()
    {
        int[] torchvision = { 0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15 };
        CollectionAssert.AreEqual(torchvision, KeypointSchema.FlipMapFromNames(KeypointSchema.CocoPerson.Names));
        CollectionAssert.AreEqual(KeypointSchema.CocoPerson.FlipMap.ToArray(), KeypointSchema.FlipMapFromNames(KeypointSchema.CocoPerson.Names));
    }

    [TestMethod]
    public void LeftRightAnywhereAndLrTokensPairCaseInsensitively()
    {
        string[] names =
        {
            "head",          // 0: no side -> itself
            "L_Hand",        // 1 <-> 2: l_/r_ prefix, mixed case
            "r_hand",        // 2
            "foot.left",     // 3 <-> 4: "left"/"right" as a suffix
            "FOOT.RIGHT",    // 4
            "UpperLeftArm",  // 5 <-> 6: "left"/"right" inside a camel-case word
            "upperrightarm", // 6
            "knee_l",        // 7 <-> 8: _l/_r suffix token
            "knee_r",        // 8
            "left_wing",     // 9: no right_wing -> itself
            "cleft",         // 10: "cright" does not exist -> itself
            "elbow",         // 11: the "l" inside a word is not a side token -> itself
        };
        int[] expected = { 0, 2, 1, 4, 3, 6, 5, 8, 7, 9, 10, 11 };
        CollectionAssert.AreEqual(expected, KeypointSchema.FlipMapFromNames(names));
    }

    [TestMethod]
    public void FromNamesBuildsAValidSchemaWithTheDerivedMap()
    {
        var s = KeypointSchema.FromNames(new[] { "tip", "right_base", "left_base" }, new[] { (0, 1), (0, 2) });
        Assert.AreEqual(3, s.Count);
        CollectionAssert.AreEqual(new[] { 0, 2, 1 }, s.FlipMap.ToArray());
        Assert.AreEqual((0, 2), s.Skeleton[1]);
        Assert.AreEqual(0, KeypointSchema.FromNames(new[] { "a" }).Skeleton.Count);
    }

    [TestMethod]
    public void AMirrorNameMatchingTwoKeypointsUpToCaseIsAnError()
    {
        var e = Assert.ThrowsException<ArgumentException>(() => KeypointSchema.FlipMapFromNames(new[] { "left_eye", "right_eye", "Right_Eye" }));
        StringAssert.Contains(e.Message, "'left_eye'");
        StringAssert.Contains(e.Message, "right_eye");
        // Names that differ only in case but are nobody's mirror are fine (each maps to itself).
        CollectionAssert.AreEqual(new[] { 0, 1 }, KeypointSchema.FlipMapFromNames(new[] { "nose", "Nose" }));
    }
}
