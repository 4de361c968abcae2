using Microsoft.ML;
using MLNetSeg.Data.Loading;
using MLNetSeg.Trainers.Data;
using MLNetSeg.Trainers.Host;
using MLNetSeg.Training;
using MLNetSeg.Training.Comparison;
using MLNetSeg.Transforms;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Trainers;

/// <summary>The outcome of <see cref="SegmentationComparisonCatalog.Compare"/>: the leaderboard, and the best model as a transformer.</summary>
public sealed class SegmentationComparisonResult : IDisposable
{
    internal SegmentationComparisonResult(ComparisonResult comparison, SegmentationTransformer bestModel, DetectionDataset validationSet)
    {
        Comparison = comparison;
        BestModel = bestModel;
        ValidationSet = validationSet;
    }

    /// <summary>The leaderboard, metric, folder and time taken.</summary>
    public ComparisonResult Comparison { get; }

    /// <summary>The leaderboard (one row per candidate, best first).</summary>
    public Leaderboard Leaderboard => Comparison.Leaderboard;

    /// <summary>The best candidate's model, ready to <c>Transform</c> (dispose it, or this result).</summary>
    public SegmentationTransformer BestModel { get; }

    /// <summary>The validation IDataView as the comparison read it (images cached under the comparison's folder when given as
    /// MLImage): what <c>MLNetSeg.Reporting.ComparisonReport.Write(result.Comparison, result.ValidationSet)</c> draws.</summary>
    public DetectionDataset ValidationSet { get; }

    /// <inheritdoc/>
    public void Dispose() => BestModel.Dispose();
}

/// <summary>
/// <c>mlContext.Segmentation().Trainers.Compare(...)</c>: trains and ranks several models on annotated
/// IDataViews within one time budget (<see cref="ModelComparison"/>: successive halving, every trial kept,
/// a rerun in the same folder continues), the way ML.NET's AutoML experiments compare tabular trainers.
/// </summary>
public static class SegmentationComparisonCatalog
{
    /// <summary>
    /// Compares <see cref="ComparisonOptions.Candidates"/> on <paramref name="trainData"/>, ranked on
    /// <paramref name="validationData"/> (the columns of <c>mlContext.Data.LoadFromCoco</c>; other names through
    /// <paramref name="columns"/>, whose <see cref="SegmentationTrainerOptions.Training"/> is not used), and returns the
    /// leaderboard with the best model as a transformer. Images given as MLImage are cached as PNG under the
    /// comparison's folder. Progress goes to <see cref="ComparisonOptions.Progress"/> and <c>MLContext.Log</c>.
    /// </summary>
    public static SegmentationComparisonResult Compare(this SegmentationTrainers catalog, IDataView trainData, IDataView validationData,
        ComparisonOptions options, SegmentationTrainerOptions? columns = null, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(catalog);
        ArgumentNullException.ThrowIfNull(trainData);
        ArgumentNullException.ThrowIfNull(validationData);
        var comparison = new ModelComparison(options);
        columns ??= new SegmentationTrainerOptions { Training = new TrainingOptions { Model = options.Candidates[0].Model } };
        using var host = new MLContextHost(catalog.Context, "MLNetSeg.Compare", cancellationToken);
        string cache = Path.Combine(options.Directory, "images");
        var train = DataViewDataset.Create(trainData, columns, "training", Path.Combine(cache, "train"));
        var validation = DataViewDataset.Create(validationData, columns, "validation", Path.Combine(cache, "val"));
        host.Info($"comparing {options.Candidates.Count} candidates by {comparison.Metric} within {options.Budget} on {train.Count} images, validating on {validation.Count}");
        var report = options.Progress;
        var logged = options with
        {
            Progress = new ForwardingProgress(p => { host.Info(p.Message); report?.Report(p); }),
            Runtime = options.Runtime with { Log = options.Runtime.Log ?? host.Warning },
        };
        var result = new ModelComparison(logged).Run(train, validation, host.Token);
        var best = result.LoadBest();
        try
        {
            return new SegmentationComparisonResult(result, new SegmentationTransformer(best, columns.ImageColumnName, columns.Scoring, ownsModel: true, trainData.Schema), validation);
        }
        catch
        {
            best.Dispose();
            throw;
        }
    }

    private sealed class ForwardingProgress(Action<ComparisonProgress> report) : IProgress<ComparisonProgress>
    {
        public void Report(ComparisonProgress value) => report(value);
    }
}
