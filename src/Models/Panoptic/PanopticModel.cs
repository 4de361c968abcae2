using System.Text.Json;
using MLNetSeg.Models.Backbones;
using MLNetSeg.Models.Rcnn;
using MLNetSeg.Torch;
using MLNetSeg.Vision.Ops;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Panoptic;

/// <summary>
/// The IMP paper's models (Fig. 3–4) on one detector: Mask R-CNN ("backbone", "rpn", "roi_heads") with, as
/// <see cref="PanopticOptions"/> switch them, a semantic head on P2 or on P2–P5 ("sem_seg_head", <see cref="SemanticFpnHead"/>) and
/// Instance Mask Projection — the detections' masks × scores painted on a canvas of one channel per thing class at 1/4 scale
/// (<see cref="VisionOps.InstanceMaskProjection"/>) — concatenated with the semantic features before the predictor ("imp_head",
/// <see cref="ImpFusionHead"/>), or taken as the semantic prediction when there is no semantic head (Mask R-CNN-IMP). Outputs:
/// instances, the semantic label map and the panoptic segmentation (<see cref="PanopticMerge"/>).
/// </summary>
/// <remarks>
/// Training runs the detector's inference path on the RPN's proposals to get the detections the canvas is painted from (as at test
/// time), with the boxes detached: the semantic loss reaches the mask head through the masks and the box classifier through the
/// scores. The semantic loss is the cross-entropy at the image's resolution (logits upsampled 4×, padding ignored) times
/// <see cref="PanopticOptions.SemanticLossWeight"/>.
/// </remarks>
public sealed class PanopticModel : GeneralizedRcnn, ISemanticLabelSpace
{
    /// <summary>The key of the semantic loss, detectron2's "loss_sem_seg".</summary>
    public const string SemanticLossKey = "loss_sem_seg";

    private readonly int[] _thingLabels;

    /// <summary>Assembles a model from its parts; <see cref="Create"/> does it from an architecture.</summary>
    /// <param name="backbone">ResNet + FPN.</param>
    /// <param name="rpn">The region proposal network.</param>
    /// <param name="roiHeads">Mask R-CNN's box and mask branches.</param>
    /// <param name="transform">Normalisation, resizing and batching, made from <paramref name="options"/>.</param>
    /// <param name="options">The detector settings the parts were made with.</param>
    /// <param name="switches">Semantic head, IMP and instance switches, semantic classes, loss weight and merge thresholds.</param>
    /// <param name="semanticHead">The semantic head (null exactly when <see cref="PanopticOptions.SemanticHead"/> is None); without IMP
    /// it has its predictor, with IMP it gives features only.</param>
    /// <param name="impHead">The IMP fusion head (null unless IMP and a semantic head).</param>
    /// <exception cref="ArgumentException">The parts do not match the switches.</exception>
    public PanopticModel(BackboneWithFpn backbone, RegionProposalNetwork rpn, RoiHeads roiHeads, GeneralizedRcnnTransform transform,
        RcnnOptions options, PanopticOptions switches, SemanticFpnHead? semanticHead, ImpFusionHead? impHead)
        : base(backbone, rpn, roiHeads, transform, options)
    {
        ArgumentNullException.ThrowIfNull(switches);
        switches.Validate();
        if (!roiHeads.HasMask || roiHeads.HasKeypoint)
            throw new ArgumentException("PanopticModel: the RoI heads must be Mask R-CNN's (box and mask branches)", nameof(roiHeads));
        _thingLabels = switches.ThingLabels(NumClasses - 1);
        if (_thingLabels.Length != NumClasses - 1)
            throw new ArgumentException($"PanopticModel: {_thingLabels.Length} thing → semantic labels for {NumClasses - 1} detector classes", nameof(switches));
        if ((semanticHead is null) != (switches.SemanticHead == SemanticHeadKind.None))
            throw new ArgumentException($"PanopticModel: semantic head {switches.SemanticHead} but {(semanticHead is null ? "none" : "one")} given", nameof(semanticHead));
        bool fused = switches.Imp && semanticHead is not null;
        if ((impHead is not null) != fused)
            throw new ArgumentException($"PanopticModel: an IMP fusion head goes with IMP and a semantic head (Imp {switches.Imp}, head {switches.SemanticHead})", nameof(impHead));
        if (semanticHead is not null && (semanticHead.Predictor is null) != fused)
            throw new ArgumentException("PanopticModel: the semantic head has a predictor exactly when there is no IMP fusion head", nameof(semanticHead));
        if (impHead is not null && impHead.CanvasChannels != NumClasses - 1)
            throw new ArgumentException($"PanopticModel: the IMP head takes {impHead.CanvasChannels} canvas channels, the detector has {NumClasses - 1} thing classes", nameof(impHead));
        Switches = switches;
        if (semanticHead is not null) SemanticHead = RegisterModule("sem_seg_head", semanticHead);
        if (impHead is not null) ImpHead = RegisterModule("imp_head", impHead);
        Eval();
    }

    /// <summary>The switches, semantic classes and thresholds the model was made with.</summary>
    public PanopticOptions Switches { get; }

    /// <summary>The semantic head ("sem_seg_head"), or null (Mask R-CNN-IMP).</summary>
    public SemanticFpnHead? SemanticHead { get; }

    /// <summary>The IMP fusion head ("imp_head"), or null.</summary>
    public ImpFusionHead? ImpHead { get; }

    /// <summary>Semantic classes, S.</summary>
    public int SemanticClassCount => Switches.SemanticClasses!.Count;

    /// <summary>Semantic class of each detector class 1..K (entry k − 1).</summary>
    public IReadOnlyList<int> ThingSemanticLabels => _thingLabels;

    /// <summary>The semantic classes, in label-map order.</summary>
    public IReadOnlyList<string> SemanticClasses => Switches.SemanticClasses!;

    /// <summary><see cref="PanopticFamily"/>.</summary>
    public override ModelFamily Family => PanopticFamily.Instance;

    /// <summary>The semantic map always; with instances, boxes, masks and the panoptic segmentation.</summary>
    public override SegmentationTasks Tasks => PanopticFamily.TasksOf(Switches);

    /// <summary>Trains on masks when the instance branches are on.</summary>
    protected override bool PredictsMasks => Switches.Instances;

    /// <summary>Trains on semantic maps when there is a semantic head to train.</summary>
    protected override bool PredictsSemantic => SemanticHead is not null;

    /// <summary>
    /// A new model (random weights, eval mode): the detector of <paramref name="architecture"/> (type
    /// <see cref="ModelArchitecture.PanopticType"/>) with Mask R-CNN's heads, then the semantic head and the IMP head
    /// <paramref name="switches"/> ask for.
    /// </summary>
    /// <exception cref="ArgumentException">The architecture is not a panoptic one, or a setting is out of range.</exception>
    public static PanopticModel Create(ModelArchitecture architecture, RcnnOptions settings, PanopticOptions switches)
    {
        ArgumentNullException.ThrowIfNull(architecture);
        ArgumentNullException.ThrowIfNull(switches);
        if (architecture.ModelType != ModelArchitecture.PanopticType)
            throw new ArgumentException($"PanopticModel.Create: the architecture's model type is '{architecture.ModelType}', not '{ModelArchitecture.PanopticType}'", nameof(architecture));
        switches.Validate();
        var (backbone, rpn, boxHead, boxPredictor, transform, built) = architecture.BuildDetector(settings);
        long channels = backbone.OutChannels;
        var roiHeads = architecture.MaskRoiHeads(channels, boxHead, boxPredictor, built);
        int semanticClasses = switches.SemanticClasses!.Count, things = architecture.NumClasses - 1;
        SemanticFpnHead? semantic = switches.SemanticHead switch
        {
            SemanticHeadKind.Fpn => new SemanticFpnHead(channels, new[] { 4, 8, 16, 32 }, switches.Imp ? null : semanticClasses, switches.SemanticConvDims),
            SemanticHeadKind.P2 => new SemanticFpnHead(channels, new[] { 4 }, switches.Imp ? null : semanticClasses, switches.SemanticConvDims, groupNormGroups: null),
            _ => null,
        };
        var imp = switches.Imp && semantic is not null
            ? new ImpFusionHead(switches.SemanticConvDims, things, semanticClasses, switches.ImpConvs,
                switches.SemanticHead == SemanticHeadKind.Fpn ? 32 : null)
            : null;
        return new PanopticModel(backbone, rpn, roiHeads, transform, built, switches, semantic, imp);
    }

    /// <summary>Instances, the semantic map and the panoptic segmentation of each image (what the model has), in its own pixels.</summary>
    protected override IReadOnlyList<SegmentationResult> PredictResults(IReadOnlyList<Tensor> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (Training) throw new InvalidOperationException("PanopticModel: Predict runs inference; call Eval() first");
        if (images.Count == 0) return Array.Empty<SegmentationResult>();
        using var noGrad = NoGradScope.Enter();
        using var scope = DisposeScope.Enter();
        var (batch, originalSizes) = InferenceBatch(images);
        var (levels, pooled) = Features(batch);
        DetectionTensors[]? detections = null;
        if (Switches.Instances)
        {
            var (proposals, _) = Rpn.Forward(batch, levels);
            detections = RoiHeads.Forward(pooled, proposals, batch.ImageSizes);
        }
        var scores = SemanticScores(pooled, detections);

        var results = new SegmentationResult[images.Count];
        for (int i = 0; i < results.Length; i++)
        {
            using var imageScope = DisposeScope.Enter();
            var semantic = SemanticMap(scores.Select(0, i), batch.ImageSizes[i], originalSizes[i]);
            Instances? instances = null;
            PanopticSegmentation? panoptic = null;
            if (detections is not null)
            {
                instances = Transform.Postprocess(detections[i], batch.ImageSizes[i], originalSizes[i]).ToInstances(Options.MaskThreshold);
                panoptic = PanopticMerge.Combine(instances, semantic, _thingLabels,
                    Switches.PanopticInstanceScore, Switches.PanopticOverlap, Switches.PanopticStuffArea);
            }
            results[i] = new SegmentationResult(instances, semantic, panoptic);
        }
        return results;
    }

    /// <summary>The semantic prediction at 1/4 of the padded batch: logits [N, S, h, w], or for Mask R-CNN-IMP the canvas
    /// [N, K, h, w] (values in [0, 1]).</summary>
    private Tensor SemanticScores(Tensor[] pooled, IReadOnlyList<DetectionTensors>? detections)
    {
        var canvas = Switches.Imp ? Canvas(detections!, pooled[0]) : null;
        if (SemanticHead is null) return canvas!;
        var levels = Switches.SemanticHead == SemanticHeadKind.Fpn ? pooled : new[] { pooled[0] };
        if (ImpHead is null) return SemanticHead.Forward(levels);
        return ImpHead.Forward(SemanticHead.Features(levels), canvas!);
    }

    /// <summary>The IMP canvas [N, K, h, w] at P2's size and stride 4 from per-image detections in the resized images' pixels
    /// (masks [D, 1, M, M] probabilities).</summary>
    private Tensor Canvas(IReadOnlyList<DetectionTensors> detections, Tensor p2)
    {
        int things = NumClasses - 1;
        var counts = detections.Select(d => (long)d.Count).ToArray();
        if (counts.Sum() == 0)
            return Tensor.Zeros(new[] { p2.Size(0), things, p2.Size(2), p2.Size(3) }, p2.DType, p2.Device);
        var masks = Tensor.Cat(detections.Select(d => d.Masks!).ToArray(), 0);
        var scores = Tensor.Cat(detections.Select(d => d.Scores).ToArray(), 0);
        var labels = Tensor.Cat(detections.Select(d => d.Labels).ToArray(), 0).Sub(1);
        var boxes = Tensor.Cat(detections.Select(d => d.Boxes.Detach()).ToArray(), 0);
        var images = Tensor.Cat(counts.Select((c, i) => Tensor.Full(new[] { c }, i, DType.Int64, p2.Device)).ToArray(), 0);
        return VisionOps.InstanceMaskProjection(masks.To(p2.DType), scores.To(p2.DType), labels, boxes.To(p2.DType), images,
            (int)p2.Size(0), things, (int)p2.Size(2), (int)p2.Size(3), stride: 4);
    }

    /// <summary>One image's label map at its original size from its 1/4-scale semantic scores: upsampled 4× (bilinear), the padding
    /// cut off, resized to the original size (bilinear), argmax; for Mask R-CNN-IMP's canvas, pixels whose largest value is below
    /// <see cref="PanopticOptions.ImpCanvasThreshold"/> are unlabelled (255).</summary>
    private SemanticLabelMap SemanticMap(Tensor scores, (int Height, int Width) resized, (int Height, int Width) original)
    {
        var x = Functional.Interpolate(scores.Unsqueeze(0), scaleFactor: (4, 4), mode: InterpolationMode.Bilinear, alignCorners: false);
        x = x.Narrow(2, 0, resized.Height).Narrow(3, 0, resized.Width);
        x = Functional.Interpolate(x, size: new Size2(original.Height, original.Width), mode: InterpolationMode.Bilinear, alignCorners: false).Select(0, 0);
        var (best, index) = x.Max(0);
        var labels = index.To(DType.Int64, Device.Cpu).Contiguous().ToArray<long>();
        var map = new int[labels.Length];
        if (SemanticHead is not null)
            for (int p = 0; p < map.Length; p++) map[p] = (int)labels[p];
        else
        {
            var values = best.To(DType.Float32, Device.Cpu).Contiguous().ToArray<float>();
            for (int p = 0; p < map.Length; p++)
                map[p] = values[p] >= Switches.ImpCanvasThreshold ? _thingLabels[labels[p]] : SemanticLabelMap.IgnoreLabel;
        }
        return new SemanticLabelMap(original.Height, original.Width, map);
    }

    /// <summary>The detector's losses (when the instance branches are on) and the semantic loss; a semantic-only model runs the
    /// backbone and its semantic head alone.</summary>
    protected override IReadOnlyDictionary<string, Tensor> LossDictionary(IReadOnlyList<Tensor> images, RcnnTarget[] targets)
    {
        if (Switches.Instances) return base.LossDictionary(images, targets);
        using var scope = DisposeScope.Enter();
        var (batch, resized) = TrainingBatch(images, targets);
        var (_, pooled) = Features(batch);
        var loss = SemanticLoss(SemanticScores(pooled, null), batch, resized);
        return new Dictionary<string, Tensor> { [SemanticLossKey] = scope.MoveToOuter(loss) };
    }

    /// <summary>Mask R-CNN's head losses and, with a semantic head, the semantic loss on the canvas of this step's detections.</summary>
    protected override (RoiHeadsLosses Heads, IReadOnlyDictionary<string, Tensor>? Extra) ComputeHeadLosses(
        Tensor[] pooled, Tensor[] proposals, ImageList batch, RcnnTarget[] targets)
    {
        var heads = RoiHeads.ComputeLosses(pooled, proposals, batch.ImageSizes, targets);
        if (SemanticHead is null) return (heads, null);
        var detections = ImpHead is null ? null : TrainingDetections(pooled, proposals, batch.ImageSizes);
        var loss = SemanticLoss(SemanticScores(pooled, detections), batch, targets);
        return (heads, new Dictionary<string, Tensor> { [SemanticLossKey] = loss });
    }

    /// <summary>The detections of the inference path, run in training mode on the (detached) proposals: box head, post-processing
    /// (score threshold, NMS, top detections), mask head on the detected boxes (detached), probabilities of the detected class.</summary>
    private DetectionTensors[] TrainingDetections(Tensor[] pooled, Tensor[] proposals, IReadOnlyList<(int Height, int Width)> imageSizes)
    {
        var heads = RoiHeads;
        var (classLogits, boxRegression) = heads.BoxPredictor.Forward(heads.BoxHead.Forward(heads.BoxRoiPool.Forward(pooled, proposals, imageSizes)));
        var (boxes, scores, labels) = heads.PostprocessDetections(classLogits, boxRegression, proposals, imageSizes);
        boxes = boxes.Select(b => b.Detach()).ToArray();
        Tensor[] masks;
        if (boxes.All(b => b.Size(0) == 0))
            masks = boxes.Select(b => Tensor.Zeros(new long[] { 0, 1, 1, 1 }, classLogits.DType, b.Device)).ToArray();
        else
            masks = RoiHeads.MaskRcnnInference(heads.MaskPredictor!.Forward(heads.MaskHead!.Forward(heads.MaskRoiPool!.Forward(pooled, boxes, imageSizes))), labels);
        return boxes.Select((b, i) => new DetectionTensors(imageSizes[i].Height, imageSizes[i].Width, b, labels[i], scores[i], masks[i])).ToArray();
    }

    /// <summary>The weighted semantic cross-entropy of 1/4-scale logits against the resized targets padded to the batch (255).</summary>
    private Tensor SemanticLoss(Tensor logits, ImageList batch, IReadOnlyList<RcnnTarget> targets)
    {
        long height = batch.PaddedHeight, width = batch.PaddedWidth;
        var padded = targets.Select((t, i) =>
        {
            var map = t.Semantic ?? throw new ArgumentException($"PanopticModel: target {i} has no semantic map");
            return Functional.Pad(map.To(DType.Int64), new[] { 0L, width - map.Size(1), 0L, height - map.Size(0) }, value: SemanticLabelMap.IgnoreLabel);
        }).ToArray();
        return SemanticFpnHead.SemanticLoss(logits, Tensor.Stack(padded, 0), 4, SemanticLabelMap.IgnoreLabel, Switches.SemanticLossWeight);
    }

    /// <summary>The R-CNN section (type "panoptic") and a "panoptic" object with the switches, classes and thresholds.</summary>
    protected override void WriteConfig(Utf8JsonWriter writer)
    {
        base.WriteConfig(writer);
        writer.WriteStartObject(PanopticConfig.SectionName);
        PanopticConfig.Write(writer, Switches with { ThingSemanticLabels = _thingLabels });
        writer.WriteEndObject();
    }
}
