using MLNetSeg.Interactive;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Reporting.Tests;

/// <summary><see cref="FailureAnalysis"/> on hand-built boxes: COCO's greedy matching by score, one match per ground truth, same class only.</summary>
[TestClass]
public sealed class FailureAnalysisTests
{
    private static Boxes B(params float[] xyxy) => new(xyxy);

    [TestMethod]
    public void DetectionsTakeTheBestUnmatchedTruthOfTheirClassInScoreOrder()
    {
        // Truth: two class-1 objects side by side, one class-2 object.
        var truth = new Instances(100, 100, B(0, 0, 20, 20, 30, 0, 50, 20, 60, 60, 90, 90), new[] { 1, 1, 2 });
        // Detections: a high-scoring duplicate pair on the first object (one must be a false positive), a class-2 box on the
        // second class-1 object (wrong class: false positive, and that object is missed), a hit on the class-2 object, and a
        // low-scoring box below the threshold (ignored).
        var predicted = new Instances(100, 100, B(1, 1, 20, 20, 0, 0, 21, 21, 30, 0, 50, 20, 60, 60, 90, 90, 30, 0, 50, 20),
            new[] { 1, 1, 2, 2, 1 }, scores: new[] { 0.7f, 0.9f, 0.8f, 0.6f, 0.3f });
        var f = FailureAnalysis.Compare(5, predicted, truth, iouThreshold: 0.5, scoreThreshold: 0.5f);
        Assert.AreEqual(5, f.ImageIndex);
        Assert.AreEqual(2, f.Matched);
        // The 0.9 box matched first; the 0.7 duplicate is left over.
        CollectionAssert.AreEqual(new[] { 0.8f, 0.7f }, f.FalsePositives.Scores!.ToArray());
        CollectionAssert.AreEqual(new[] { 2, 1 }, f.FalsePositives.Labels.ToArray());
        Assert.AreEqual(1, f.Missed.Count);
        Assert.AreEqual(30f, f.Missed.Boxes[0].X1);
        Assert.AreEqual(3, f.Errors);

        // With the low-score box counted, it finds the missed object.
        var all = FailureAnalysis.Compare(5, predicted, truth, scoreThreshold: 0.2f);
        Assert.AreEqual(3, all.Matched);
        Assert.AreEqual(0, all.Missed.Count);
    }

    [TestMethod]
    public void MismatchedImagesAndScorelessPredictionsAreRefused()
    {
        var truth = new Instances(100, 100, B(0, 0, 10, 10), new[] { 1 });
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => FailureAnalysis.Compare(0, truth, truth)).Message, "no scores");
        var other = new Instances(50, 100, B(0, 0, 10, 10), new[] { 1 }, scores: new[] { 1f });
        StringAssert.Contains(Assert.ThrowsException<ArgumentException>(() => FailureAnalysis.Compare(0, other, truth)).Message, "50x100");
    }
}
