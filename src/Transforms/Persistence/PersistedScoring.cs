using System.ComponentModel;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Transforms.Persistence;

/// <summary>
/// How a <see cref="SegmentationTransformer"/> goes into model.zip with ML.NET's public API only.
/// ML.NET keeps the members of <c>ModelSaveContext</c> and its loadable-class registry internal,
/// so a third-party transformer cannot write itself; instead it saves an equivalent chain of
/// ML.NET's own savable transformers, which <c>mlContext.Model.Load</c> rebuilds in any process
/// that references MLNetSeg (ML.NET records the factories' assembly; nothing to register):
/// <list type="number">
/// <item>CustomMapping "MLNetSeg.ModelKey": a constant key column;</item>
/// <item>MapValue: key → the model state text (<see cref="ModelState"/>: settings + the .mlseg bytes as base64), stored in the zip as the map's data;</item>
/// <item>CopyColumns: the user's image column → the fixed input name;</item>
/// <item>CustomMapping "MLNetSeg.ScoreImage" / "MLNetSeg.ScoreImagePath": (image, state) → the outputs under fixed names, through the same <see cref="ScoredRow"/> conversion;</item>
/// <item>MapValueToKey with the class names as key data: the key-typed PredictedLabel with its KeyValues;</item>
/// <item>CopyColumns to the user's output names, DropColumns for the fixed-name temporaries.</item>
/// </list>
/// What comes back from Load is that chain (an <c>ITransformer</c> like any other), not a
/// <see cref="SegmentationTransformer"/>; it scores row by row.
/// </summary>
internal static class PersistedScoring
{
    public const string ModelKeyContract = "MLNetSeg.ModelKey";
    public const string ScoreImageContract = "MLNetSeg.ScoreImage";
    public const string ScoreImagePathContract = "MLNetSeg.ScoreImagePath";

    public static ITransformer BuildChain(SegmentationScorer scorer, DataViewSchema inputSchema, string imageColumn)
    {
        var kind = ImageInputs.Check(inputSchema, imageColumn);
        var chain = new SavedChain(inputSchema);
        chain.Add(chain.ML.Transforms.CustomMapping(new ModelKeyFactory().GetMapping(), ModelKeyContract));
        chain.Add(chain.ML.Transforms.Conversion.MapValue(PersistedColumns.State,
            new[] { new KeyValuePair<string, string>(ModelKey, ModelState.Write(scorer)) }, PersistedColumns.ModelKey));
        chain.Add(chain.ML.Transforms.CopyColumns(PersistedColumns.Image, imageColumn));
        if (kind == ImageColumnKind.MLImage) chain.Add(chain.ML.Transforms.CustomMapping(new ImageScoringFactory().GetMapping(), ScoreImageContract));
        else chain.Add(chain.ML.Transforms.CustomMapping(new PathScoringFactory().GetMapping(), ScoreImagePathContract));
        chain.AddScoredOutputs(scorer.Outputs, scorer.LabelNames);
        return chain.Build();
    }

    /// <summary>The key the model state is stored under in the MapValue step.</summary>
    public const string ModelKey = "model";
}

/// <summary>Internal to MLNetSeg's model.zip format: the constant key column.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PersistedScoring.ModelKeyContract)]
public sealed class ModelKeyFactory : CustomMappingFactory<NoColumns, ModelKeyRow>
{
    /// <inheritdoc/>
    public override Action<NoColumns, ModelKeyRow> GetMapping() => (_, output) => output.Key = "model";
}

/// <summary>Internal to MLNetSeg's model.zip format: scores an MLImage with the saved model.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PersistedScoring.ScoreImageContract)]
public sealed class ImageScoringFactory : CustomMappingFactory<ImageStateRow, ScoredRowColumns>
{
    /// <inheritdoc/>
    public override Action<ImageStateRow, ScoredRowColumns> GetMapping() => (input, output) =>
    {
        var scorer = ModelState.Get(input.State);
        var image = ImageInputs.FromMLImage(input.Image ?? throw new InvalidDataException("the image column holds no image"));
        output.Fill(scorer.Score(new[] { image })[0], scorer.LabelNames);
    };
}

/// <summary>Internal to MLNetSeg's model.zip format: scores the image at a path with the saved model.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
[CustomMappingFactoryAttribute(PersistedScoring.ScoreImagePathContract)]
public sealed class PathScoringFactory : CustomMappingFactory<PathStateRow, ScoredRowColumns>
{
    /// <inheritdoc/>
    public override Action<PathStateRow, ScoredRowColumns> GetMapping() => (input, output) =>
    {
        var scorer = ModelState.Get(input.State);
        output.Fill(scorer.Score(new[] { ImageInputs.ReadFile(input.Image) })[0], scorer.LabelNames);
    };
}
