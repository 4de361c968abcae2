using MLNetSeg.Data.Coco;
using Microsoft.VisualStudio.TestTools.UnitTesting;

namespace MLNetSeg.Data.Tests.Coco;

/// <summary>Which annotations overlap another of their class, on hand-built boxes.</summary>
[TestClass]
public sealed class SameClassOverlapTests
{
    private static CocoAnnotation Box(long id, long image, long category, double x, double y, double w, double h, bool crowd = false) =>
        new() { Id = id, ImageId = image, CategoryId = category, Bbox = new[] { x, y, w, h }, IsCrowd = crowd };

    [TestMethod]
    public void OnlySameClassNonCrowdBoxesSharingAnAreaCount()
    {
        var annotations = new[]
        {
            Box(1, 1, 7, 0, 0, 10, 10), Box(2, 1, 7, 5, 5, 10, 10),      // same class, overlapping: both count
            Box(3, 1, 8, 30, 30, 10, 10), Box(4, 1, 8, 40, 30, 10, 10),  // same class, touching edges only: no area, neither
            Box(5, 1, 9, 60, 0, 10, 10), Box(6, 1, 3, 62, 2, 10, 10),    // overlapping, different classes: neither
            Box(7, 1, 9, 61, 1, 5, 5, crowd: true),                      // a crowd region over box 5: not an instance
            Box(8, 2, 7, 0, 0, 10, 10), Box(9, 3, 7, 0, 0, 10, 10),      // the same box in two images: neither
            Box(10, 2, 8, 0, 0, 20, 20), Box(11, 2, 8, 19.5, 19.5, 4, 4), // a corner shared by half a pixel: both
        };
        CollectionAssert.AreEquivalent(new long[] { 1, 2, 10, 11 }, SameClassOverlap.AnnotationIds(annotations).ToArray());
    }
}
