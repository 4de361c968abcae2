using MLNetSeg.Models.Rcnn;

namespace MLNetSeg.Models.Panoptic;

/// <summary>Which semantic head a <see cref="PanopticModel"/> has (the IMP paper's Fig. 3).</summary>
public enum SemanticHeadKind
{
    /// <summary>None: with <see cref="PanopticOptions.Imp"/>, the IMP canvas itself is the semantic prediction (Mask R-CNN-IMP).</summary>
    None,

    /// <summary>One conv3×3 (no GroupNorm) on P2 (Semantic-P2, Panoptic-P2).</summary>
    P2,

    /// <summary>Panoptic FPN's head: P2–P5 to 128 channels at 1/4 (conv3×3 + GroupNorm + ReLU + 2× upsampling), summed.</summary>
    Fpn,
}

/// <summary>
/// Options of the Panoptic FPN / IMP family (<see cref="PanopticFamily"/>): the R-CNN detector settings, and the switches that
/// make the eight models of the IMP paper's Table 1 — <see cref="Instances"/> (Mask R-CNN's branches), <see cref="SemanticHead"/>
/// and <see cref="Imp"/>:
/// Mask R-CNN-IMP = (instances, None, IMP); Semantic-P2 = (no instances, P2); Panoptic-P2(-IMP) = (instances, P2, ±IMP);
/// Semantic-FPN = (no instances, Fpn); Panoptic-FPN(-IMP) = (instances, Fpn, ±IMP).
/// </summary>
public sealed record PanopticOptions : RcnnModelOptions
{
    /// <inheritdoc/>
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Family => PanopticFamily.FamilyName;

    /// <summary>The semantic head (default: Panoptic FPN's).</summary>
    public SemanticHeadKind SemanticHead { get; init; } = SemanticHeadKind.Fpn;

    /// <summary>Instance Mask Projection: the detections' masks × scores painted on a per-thing-class canvas at 1/4 scale, fed to the
    /// semantic predictor (or, without a semantic head, taken as the semantic prediction). Needs <see cref="Instances"/>.</summary>
    public bool Imp { get; init; } = true;

    /// <summary>Mask R-CNN's RPN, box and mask branches are trained and predict instances (false: a semantic-only model, Semantic-P2 /
    /// Semantic-FPN; the detector's modules are still built, so that every row of the ablation loads the same weights, but they are
    /// neither trained nor run).</summary>
    public bool Instances { get; init; } = true;

    /// <summary>The semantic classes, in label-map order (the synthetic set's <c>semantic/labels.json</c>): things and stuff. Required.</summary>
    public IReadOnlyList<string>? SemanticClasses { get; init; }

    /// <summary>For each detector class 1..K, its index in <see cref="SemanticClasses"/>; null: class k is semantic class k − 1 (things
    /// first, as in the synthetic set and COCO panoptic's ordering). The remaining semantic classes are stuff.</summary>
    public IReadOnlyList<int>? ThingSemanticLabels { get; init; }

    /// <summary>Channels of the semantic head (128).</summary>
    public int SemanticConvDims { get; init; } = 128;

    /// <summary>3×3 convs of the IMP fusion head (the paper: 4).</summary>
    public int ImpConvs { get; init; } = 4;

    /// <summary>Weight of the semantic cross-entropy in the training loss (Panoptic FPN's 0.5; the IMP paper does not say).</summary>
    public double SemanticLossWeight { get; init; } = 0.5;

    /// <summary>Panoptic merge: an instance is kept when its score is at least this (0.5, Panoptic FPN's).</summary>
    public double PanopticInstanceScore { get; init; } = 0.5;

    /// <summary>Panoptic merge: an instance is dropped when more than this fraction of its mask is already taken (0.5).</summary>
    public double PanopticOverlap { get; init; } = 0.5;

    /// <summary>Panoptic merge: a stuff region is kept when it has at least this many pixels of the original image (4096, Panoptic
    /// FPN's for COCO-sized images; scale it with the image area).</summary>
    public int PanopticStuffArea { get; init; } = 4096;

    /// <summary>Mask R-CNN-IMP: a pixel takes the class of its largest canvas value when that value is at least this (0.5), and is
    /// left unlabelled (255) otherwise — the canvas has no stuff channels.</summary>
    public double ImpCanvasThreshold { get; init; } = 0.5;

    /// <summary>The detector class → semantic class map for a detector with <paramref name="thingClasses"/> classes (background excluded).</summary>
    public int[] ThingLabels(int thingClasses) => SemanticClassMapping.ThingLabels(ThingSemanticLabels, thingClasses);

    /// <inheritdoc/>
    public override void Validate()
    {
        base.Validate();
        static void Require(bool ok, string option, string message)
        {
            if (!ok) throw new ArgumentException($"{option} {message}", option);
        }
        Require(Enum.IsDefined(SemanticHead), nameof(SemanticHead), $"is not a semantic head ({SemanticHead})");
        Require(Instances || SemanticHead != SemanticHeadKind.None, nameof(SemanticHead),
            "is None and Instances is off: the model would predict nothing (Mask R-CNN-IMP needs Instances and Imp)");
        Require(!Imp || Instances, nameof(Imp), "projects instance masks and needs Instances on");
        Require(Imp || SemanticHead != SemanticHeadKind.None, nameof(SemanticHead),
            "is None without Imp: that is Mask R-CNN (family maskrcnn), which has no semantic output");
        SemanticClassMapping.Validate(SemanticClasses, ThingSemanticLabels, required: true);
        Require(SemanticConvDims >= 32 && SemanticConvDims % 32 == 0, nameof(SemanticConvDims), $"must be a positive multiple of 32 (GroupNorm's groups), got {SemanticConvDims}");
        Require(ImpConvs >= 0, nameof(ImpConvs), $"must not be negative, got {ImpConvs}");
        Require(SemanticLossWeight > 0 && double.IsFinite(SemanticLossWeight), nameof(SemanticLossWeight), $"must be positive, got {SemanticLossWeight}");
        Require(PanopticInstanceScore is >= 0 and <= 1, nameof(PanopticInstanceScore), $"must lie in [0, 1], got {PanopticInstanceScore}");
        Require(PanopticOverlap is >= 0 and <= 1, nameof(PanopticOverlap), $"must lie in [0, 1], got {PanopticOverlap}");
        Require(PanopticStuffArea >= 0, nameof(PanopticStuffArea), $"must not be negative, got {PanopticStuffArea}");
        Require(ImpCanvasThreshold is >= 0 and <= 1, nameof(ImpCanvasThreshold), $"must lie in [0, 1], got {ImpCanvasThreshold}");
    }

    /// <summary>Checks the semantic classes against the detector's (<paramref name="thingNames"/>, background excluded): one semantic
    /// class per detector class, of the same name.</summary>
    /// <exception cref="ArgumentException">The counts or a name disagree.</exception>
    public void CheckThings(IReadOnlyList<string> thingNames) => SemanticClassMapping.CheckThings(SemanticClasses!, ThingSemanticLabels, thingNames);
}
