using MLNetSeg.Models.Rcnn;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// Training options of MaskLab (<see cref="MaskLabFamily"/>): the R-CNN detector's (backbone, norm recipe, box
/// head recipe, widths, <see cref="RcnnModelOptions.Settings"/>) and MaskLab's switches, each of which can be
/// turned off for the paper's ablation. The defaults are the paper's full model: semantic and direction
/// features, refinement, deformable crop and resize, crops of 41 (Table 1), logits at stride 8.
/// </summary>
public sealed record MaskLabOptions : RcnnModelOptions
{
    /// <inheritdoc/>
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Family => MaskLabFamily.FamilyName;

    /// <summary>The box class's cropped semantic logits as a coarse-mask feature (and the semantic loss).</summary>
    public bool Semantic { get; init; } = true;

    /// <summary>The direction-pooled crop as a coarse-mask feature (and the direction loss).</summary>
    public bool Direction { get; init; } = true;

    /// <summary>Refine the coarse mask with hypercolumn features (three 5×5 convolutions of 64).</summary>
    public bool Refinement { get; init; } = true;

    /// <summary>Deformable crop and resize in the box branch instead of RoIAlign.</summary>
    public bool DeformableCrop { get; init; } = true;

    /// <summary>Side of the semantic/direction crops and of the predicted masks (paper: 41).</summary>
    public int CropSize { get; init; } = 41;

    /// <summary>Stride of the semantic and direction logits: 8 (P3, the paper's output stride) or 4 (P2).</summary>
    public int LogitStride { get; init; } = 8;

    /// <summary>Direction bins over 360° (paper: 8).</summary>
    public int Directions { get; init; } = 8;

    /// <summary>Distance bins from the box centre to its edge (paper: 4).</summary>
    public int DistanceBins { get; init; } = 4;

    /// <summary>The label maps' classes (things and stuff, e.g. semantic/labels.json): the semantic head then also learns the stuff
    /// classes from the dataset's label maps (§3: semantic segmentation of things and stuff), which training then needs
    /// (<c>DetectionDatasetOptions.SemanticDirectory</c>, CLI --train-semantic). Null (default): things and background, from the
    /// instance masks alone.</summary>
    public IReadOnlyList<string>? SemanticClasses { get; init; }

    /// <summary>For each detector class 1..K, its index in <see cref="SemanticClasses"/>; null: class k is semantic class k − 1.</summary>
    public IReadOnlyList<int>? ThingSemanticLabels { get; init; }

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        if (!Semantic && !Direction)
            throw new ArgumentException($"{nameof(Semantic)} and {nameof(Direction)} are both off: the coarse mask needs at least one of them", nameof(Semantic));
        if (CropSize < 2) throw new ArgumentException($"{nameof(CropSize)} must be at least 2, got {CropSize}", nameof(CropSize));
        if (LogitStride is not (4 or 8)) throw new ArgumentException($"{nameof(LogitStride)} must be 4 (P2) or 8 (P3), got {LogitStride}", nameof(LogitStride));
        if (Directions < 1) throw new ArgumentException($"{nameof(Directions)} must be at least 1, got {Directions}", nameof(Directions));
        if (DistanceBins < 1) throw new ArgumentException($"{nameof(DistanceBins)} must be at least 1, got {DistanceBins}", nameof(DistanceBins));
        SemanticClassMapping.Validate(SemanticClasses, ThingSemanticLabels, required: false);
        if (SemanticClasses is not null && !Semantic)
            throw new ArgumentException($"{nameof(SemanticClasses)} is set but {nameof(Semantic)} is off: there is no semantic head to learn the stuff classes", nameof(SemanticClasses));
    }
}
