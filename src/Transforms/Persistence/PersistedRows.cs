using System.ComponentModel;
using Microsoft.ML.Data;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Transforms.Persistence;

// The row classes of the CustomMappings that carry a transformer into model.zip (see
// PersistedScoring). ML.NET reads and writes their fields by reflection and reloads a saved
// CustomMapping with the column names of these attributes, so the names are fixed here and the
// user's own names are applied by CopyColumns around them. Public only because ML.NET needs them.

/// <summary>Internal to MLNetSeg's model.zip format.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class NoColumns
{
}

/// <summary>Internal to MLNetSeg's model.zip format.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ModelKeyRow
{
    /// <summary>The constant looked up in the model-state map.</summary>
    [ColumnName(PersistedColumns.ModelKey)] public string Key = "";
}

/// <summary>Internal to MLNetSeg's model.zip format.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ImageStateRow
{
    /// <summary>The image.</summary>
    [ColumnName(PersistedColumns.Image)] public Microsoft.ML.Data.MLImage? Image;
    /// <summary>The model state (read without copying: the map's string itself).</summary>
    [ColumnName(PersistedColumns.State)] public ReadOnlyMemory<char> State;
}

/// <summary>Internal to MLNetSeg's model.zip format.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class PathStateRow
{
    /// <summary>The image file's path.</summary>
    [ColumnName(PersistedColumns.Image)] public string Image = "";
    /// <summary>The model state (read without copying: the map's string itself).</summary>
    [ColumnName(PersistedColumns.State)] public ReadOnlyMemory<char> State;
}

/// <summary>Internal to MLNetSeg's model.zip format: <see cref="ScoredRow"/> as fields.</summary>
[EditorBrowsable(EditorBrowsableState.Never)]
public sealed class ScoredRowColumns
{
    /// <summary>Class names per detection (turned into keys by MapValueToKey).</summary>
    [ColumnName(PersistedColumns.LabelNames)] public string[] LabelNames = Array.Empty<string>();
    /// <summary>Scores.</summary>
    [ColumnName(PersistedColumns.Score)] public float[] Score = Array.Empty<float>();
    /// <summary>Boxes.</summary>
    [ColumnName(PersistedColumns.Boxes)] public float[] Boxes = Array.Empty<float>();
    /// <summary>Masks.</summary>
    [ColumnName(PersistedColumns.Masks)] public string[] Masks = Array.Empty<string>();
    /// <summary>Keypoints.</summary>
    [ColumnName(PersistedColumns.Keypoints)] public float[] Keypoints = Array.Empty<float>();
    /// <summary>Semantic labels.</summary>
    [ColumnName(PersistedColumns.Semantic)] public ushort[] Semantic = Array.Empty<ushort>();

    /// <summary>Sets the fields from a scored row; labels become their class names (<paramref name="labelNames"/>: label 1 first).</summary>
    internal void Fill(ScoredRow row, IReadOnlyList<string> labelNames)
    {
        LabelNames = Array.ConvertAll(row.Labels, label => labelNames[(int)label - 1]);
        Score = row.Scores;
        Boxes = row.Boxes;
        Masks = row.Masks;
        Keypoints = row.Keypoints;
        Semantic = row.Semantic;
    }
}

internal static class PersistedColumns
{
    public const string Prefix = "__mlnetseg_";
    public const string ModelKey = Prefix + "model_key";
    public const string State = Prefix + "model";
    public const string Image = Prefix + "image";
    public const string LabelNames = Prefix + "label_names";
    public const string Score = Prefix + "score";
    public const string Boxes = Prefix + "boxes";
    public const string Masks = Prefix + "masks";
    public const string Keypoints = Prefix + "keypoints";
    public const string Semantic = Prefix + "semantic";

    public static string For(OutputKind kind) => kind switch
    {
        OutputKind.Label => LabelNames,
        OutputKind.Score => Score,
        OutputKind.Boxes => Boxes,
        OutputKind.Masks => Masks,
        OutputKind.Keypoints => Keypoints,
        OutputKind.Semantic => Semantic,
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };
}
