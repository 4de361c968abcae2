using MLNetSeg.Data.Loading;
using MLNetSeg.Evaluation.Coco;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Reporting;

/// <summary>What the report shows of one candidate's final model: its precision–recall curve and its overlays.</summary>
internal sealed record CandidateView(TrialResult Trial, PrecisionRecallCurve? Curve, IReadOnlyList<Image> Overlays, IReadOnlyList<string>? ClassNames)
{
    /// <summary>Loads the trial's model, runs it on the first <paramref name="curveImages"/> validation images (and the overlay
    /// images), and disposes it.</summary>
    public static CandidateView Run(TrialResult trial, DetectionDataset validation, string metric, Image[] overlayImages, int curveImages,
        float threshold, CancellationToken cancellationToken)
    {
        if (!File.Exists(trial.ModelPath))
            throw new FileNotFoundException($"report: {trial.Candidate}'s model {trial.ModelPath} is missing (the comparison folder was moved or pruned)", trial.ModelPath);
        using var model = TrainedModel.Load(trial.ModelPath);
        var results = new List<SegmentationResult>(curveImages);
        for (int i = 0; i < curveImages; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            results.Add(model.Predict(i < overlayImages.Length ? overlayImages[i] : validation.LoadImage(i)));
        }
        for (int i = results.Count; i < overlayImages.Length; i++) results.Add(model.Predict(overlayImages[i]));

        PrecisionRecallCurve? curve = null;
        if (results.Any(r => r.Instances is not null))
        {
            var ids = Enumerable.Range(0, curveImages).Select(i => validation.ImageInfo(i).Id).ToArray();
            var evaluation = ModelEvaluation.Score(validation, results.Take(curveImages).ToArray(), ids, model.Info, model.Model);
            var coco = metric.StartsWith("segm/", StringComparison.Ordinal) && evaluation.Segm is { } s ? s
                : metric.StartsWith("keypoints/", StringComparison.Ordinal) && evaluation.Keypoints is { } k ? k
                : evaluation.Segm ?? evaluation.Bbox ?? evaluation.Keypoints;
            if (coco is not null) curve = PrecisionRecallCurve.From(coco);
        }

        var overlays = new Image[overlayImages.Length];
        for (int i = 0; i < overlayImages.Length; i++)
        {
            var result = results[i];
            overlays[i] = result.Instances is null && result.Semantic is { } semantic
                ? Visualizer.DrawSemantic(overlayImages[i], semantic, SemanticNames(model))
                : model.Draw(overlayImages[i], new SegmentationResult(result.Instances?.WithMinimumScore(threshold), result.Semantic, result.Panoptic));
        }
        return new CandidateView(trial, curve, overlays, model.ClassNames);
    }

    private static IReadOnlyList<string>? SemanticNames(TrainedModel model) =>
        model.Model is MLNetSeg.Models.ISemanticLabelSpace space ? space.SemanticClasses : null;
}
