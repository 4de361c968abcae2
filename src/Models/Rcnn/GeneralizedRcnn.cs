using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// A two-stage detector laid out as torchvision's GeneralizedRCNN(backbone, rpn, roi_heads, transform):
/// children "backbone" (ResNet + FPN), "rpn" and "roi_heads", so torchvision state dicts load key for
/// key, and the <see cref="GeneralizedRcnnTransform"/> in front. Every part is given to the constructor;
/// <see cref="ModelArchitecture.Build"/> is where the torchvision recipes put them together. Models are
/// created in eval mode; <see cref="Detect"/> / <see cref="Predict(IReadOnlyList{Tensor})"/> refuse to run
/// in training mode, and <see cref="ComputeLosses"/> (Training/GeneralizedRcnn.Training.cs) only runs in it.
/// </summary>
public abstract partial class GeneralizedRcnn : Module
{
    /// <summary>The FPN levels the RoI heads pool from (torchvision's featmap_names).</summary>
    public static readonly IReadOnlyList<string> PooledFeatureNames = new[] { "0", "1", "2", "3" };

    /// <param name="backbone">ResNet + FPN.</param>
    /// <param name="rpn">The region proposal network.</param>
    /// <param name="roiHeads">The box branch and the model's mask or keypoint branch, with their RoI poolers.</param>
    /// <param name="transform">Normalisation, resizing and batching in front, mapping back behind; its sizes,
    /// mean and std must be <paramref name="options"/>' (<see cref="CreateTransform"/>), which model files record.</param>
    /// <param name="options">The settings the parts were made with (validated here).</param>
    protected GeneralizedRcnn(BackboneWithFpn backbone, RegionProposalNetwork rpn, RoiHeads roiHeads, GeneralizedRcnnTransform transform,
        RcnnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        options.Validate(GetType().Name);
        ArgumentNullException.ThrowIfNull(transform);
        CheckTransform(transform, options);
        Options = options;
        Backbone = RegisterModule("backbone", backbone ?? throw new ArgumentNullException(nameof(backbone)));
        Rpn = RegisterModule("rpn", rpn ?? throw new ArgumentNullException(nameof(rpn)));
        RoiHeads = RegisterModule("roi_heads", roiHeads ?? throw new ArgumentNullException(nameof(roiHeads)));
        Transform = transform;
        Eval();
    }

    /// <summary>The settings the model was built with; model files record them.</summary>
    public RcnnOptions Options { get; }

    /// <summary>ResNet + FPN ("backbone").</summary>
    public BackboneWithFpn Backbone { get; }

    /// <summary>The region proposal network ("rpn").</summary>
    public RegionProposalNetwork Rpn { get; }

    /// <summary>The box branch and the mask or keypoint branch ("roi_heads").</summary>
    public RoiHeads RoiHeads { get; }

    /// <summary>Normalisation, resizing and batching of the input, and the mapping of detections back onto the images
    /// (not a module: it holds no parameters).</summary>
    public GeneralizedRcnnTransform Transform { get; }

    /// <summary>Classes including background.</summary>
    public int NumClasses => RoiHeads.BoxPredictor.NumClasses;

    /// <summary>The device of the model's parameters.</summary>
    public Device Device => Parameters().First().Device;

    /// <summary>
    /// Runs the detector on float images ([C, H, W], RGB in [0, 1], any size, any device and
    /// floating dtype: they are moved to the model's) as one padded batch, like calling a torchvision model. Returns one
    /// result per image in original-image pixels, masks pasted at image size (probabilities).
    /// The tensors belong to the caller's dispose scope.
    /// </summary>
    /// <exception cref="InvalidOperationException">The model is in training mode.</exception>
    /// <exception cref="ArgumentException">An image is not a [C, H, W] floating-point tensor with as many channels as the
    /// normalisation has means.</exception>
    public IReadOnlyList<DetectionTensors> Detect(IReadOnlyList<Tensor> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (Training) throw new InvalidOperationException($"{GetType().Name}: Detect runs inference; call Eval() first");
        if (images.Count == 0) return Array.Empty<DetectionTensors>();
        using var noGrad = NoGradScope.Enter();
        using var scope = DisposeScope.Enter();
        var (batch, originalSizes) = InferenceBatch(images);
        var (levels, pooled) = Features(batch);
        var (proposals, _) = Rpn.Forward(batch, levels);
        var detections = DetectInstances(pooled, proposals, batch.ImageSizes);

        var results = new DetectionTensors[images.Count];
        for (int i = 0; i < results.Length; i++)
        {
            var r = Transform.Postprocess(detections[i], batch.ImageSizes[i], originalSizes[i]);
            results[i] = r with
            {
                Boxes = scope.MoveToOuter(r.Boxes),
                Labels = scope.MoveToOuter(r.Labels),
                Scores = scope.MoveToOuter(r.Scores),
                Masks = r.Masks is null ? null : scope.MoveToOuter(r.Masks),
                Keypoints = r.Keypoints is null ? null : scope.MoveToOuter(r.Keypoints),
                KeypointScores = r.KeypointScores is null ? null : scope.MoveToOuter(r.KeypointScores),
            };
        }
        return results;
    }

    /// <summary>The images checked, moved to the model's device (floating ones to its dtype), normalised, resized and batched for
    /// inference, with their original sizes; tensors in the caller's dispose scope.</summary>
    private protected (ImageList Batch, (int Height, int Width)[] OriginalSizes) InferenceBatch(IReadOnlyList<Tensor> images) =>
        Transform.TransformForInference(images, Device, Parameters().First().DType, GetType().Name);

    /// <summary>
    /// Detections as <see cref="Instances"/> (boxes, labels, scores; masks binarised at
    /// <see cref="RcnnOptions.MaskThreshold"/> as RLE; keypoints and their scores), one per image,
    /// the images run as one batch. Native memory is released before returning.
    /// </summary>
    public IReadOnlyList<Instances> Predict(IReadOnlyList<Tensor> images)
    {
        using var scope = DisposeScope.Enter();
        return Detect(images).Select(d => d.ToInstances(Options.MaskThreshold)).ToArray();
    }

    /// <summary>Predict on 8-bit images (grey and RGBA are converted to RGB; pixels / 255).</summary>
    public IReadOnlyList<Instances> Predict(IReadOnlyList<Image> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        using var scope = DisposeScope.Enter();
        var tensors = images.Select((image, i) => ToUnitTensor(image ?? throw new ArgumentNullException(nameof(images), $"image {i} is null"))).ToArray();
        return Predict(tensors);
    }

    /// <summary>Predict on one 8-bit image (grey and RGBA are converted to RGB; pixels / 255).</summary>
    public Instances Predict(Image image) => Predict(new[] { image })[0];

    /// <summary>Predict on one float image ([3, H, W], RGB in [0, 1]); see <see cref="Predict(IReadOnlyList{Tensor})"/>.</summary>
    public Instances Predict(Tensor image) => Predict(new[] { image })[0];

    /// <summary>torchvision's to_tensor: RGB [3, H, W] float32 = pixel / 255.</summary>
    public static Tensor ToUnitTensor(Image image) => ModelInput.FromImage(image);

    /// <summary>
    /// Loads weights from a safetensors, PyTorch (.pth) or TorchSharp (module.save) file: see <see cref="ModelWeights.Load(Module, string, WeightLoadOptions?)"/>.
    /// </summary>
    public WeightLoadReport LoadWeights(string path, WeightLoadOptions? options = null) => ModelWeights.Load(this, path, options);

    /// <summary>
    /// The second stage at inference: detections per image from the pooled FPN levels and the RPN's
    /// proposals, in the resized images' pixels, masks (if any) as small per-box probability maps that
    /// <see cref="GeneralizedRcnnTransform.Postprocess"/> pastes. The R-CNNs run their RoI heads; a family
    /// built on this detector (MaskLab) adds its own branches here.
    /// </summary>
    protected virtual IReadOnlyList<DetectionTensors> DetectInstances(Tensor[] pooled, Tensor[] proposals, IReadOnlyList<(int Height, int Width)> imageSizes) =>
        RoiHeads.Forward(pooled, proposals, imageSizes);

    /// <summary>The backbone's pyramid for a batch: every level (what the RPN reads) and the
    /// <see cref="PooledFeatureNames"/> levels in that order (what the RoI heads pool from).</summary>
    private protected (Tensor[] Levels, Tensor[] Pooled) Features(ImageList batch)
    {
        var pyramid = Backbone.Forward(batch.Tensors);
        var levels = pyramid.Select(p => p.Feature).ToArray();
        var pooled = PooledFeatureNames.Select(name => pyramid.FirstOrDefault(p => p.Name == name).Feature
            ?? throw new InvalidOperationException($"{GetType().Name}: the backbone returned no level \"{name}\" " +
                                                   $"(got {string.Join(", ", pyramid.Select(p => p.Name))})")).ToArray();
        return (levels, pooled);
    }

    /// <summary>Throws unless <paramref name="transform"/> resizes and normalises as <paramref name="options"/> say:
    /// a model file keeps the options, and the transform is rebuilt from them.</summary>
    private void CheckTransform(GeneralizedRcnnTransform transform, RcnnOptions options)
    {
        void Require(bool same, string what, object transformValue, object optionsValue)
        {
            if (!same)
                throw new ArgumentException($"{GetType().Name}: the transform's {what} ({transformValue}) is not the options' ({optionsValue}); " +
                                            "build the transform with GeneralizedRcnn.CreateTransform(options)", nameof(transform));
        }
        Require(transform.MinSize == options.MinSize, nameof(RcnnOptions.MinSize), transform.MinSize, options.MinSize);
        Require(transform.MaxSize == options.MaxSize, nameof(RcnnOptions.MaxSize), transform.MaxSize, options.MaxSize);
        Require(transform.SizeDivisible == options.SizeDivisible, nameof(RcnnOptions.SizeDivisible), transform.SizeDivisible, options.SizeDivisible);
        Require(transform.ImageMean.SequenceEqual(options.ImageMean), nameof(RcnnOptions.ImageMean),
            string.Join(", ", transform.ImageMean), string.Join(", ", options.ImageMean));
        Require(transform.ImageStd.SequenceEqual(options.ImageStd), nameof(RcnnOptions.ImageStd),
            string.Join(", ", transform.ImageStd), string.Join(", ", options.ImageStd));
    }

    /// <summary>torchvision's GeneralizedRCNNTransform for <paramref name="options"/>: short side
    /// <see cref="RcnnOptions.MinSize"/>, long side at most <see cref="RcnnOptions.MaxSize"/>, normalised by
    /// <see cref="RcnnOptions.ImageMean"/> / <see cref="RcnnOptions.ImageStd"/>, batched to multiples of
    /// <see cref="RcnnOptions.SizeDivisible"/>.</summary>
    public static GeneralizedRcnnTransform CreateTransform(RcnnOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return new GeneralizedRcnnTransform(options.MinSize, options.MaxSize, options.ImageMean, options.ImageStd, options.SizeDivisible);
    }

    /// <summary>The RPN shared by the torchvision recipes: one anchor size per FPN level
    /// (<see cref="RcnnOptions.AnchorSizes"/>, torchvision's 32–512) at <see cref="RcnnOptions.AnchorAspectRatios"/>
    /// (0.5/1/2), and an RPN head with <paramref name="convDepth"/> 3×3 convs (1 for v1, 2 for v2).</summary>
    /// <param name="channels">FPN output channels, the RPN head's input.</param>
    /// <param name="convDepth">3×3 conv blocks in the RPN head: 1 (v1) or 2 (v2).</param>
    /// <param name="options">Anchor sizes and ratios, top-n limits, thresholds and sampling.</param>
    public static RegionProposalNetwork CreateRpn(long channels, int convDepth, RcnnOptions options)
    {
        var anchors = new Vision.Geometry.AnchorGenerator(
            options.AnchorSizes.Select(s => (IReadOnlyList<double>)new[] { s }).ToArray(),
            new[] { options.AnchorAspectRatios });
        return new RegionProposalNetwork(anchors, new RpnHead(channels, anchors.NumAnchorsPerLocation[0], convDepth), options.ToRpnSettings());
    }

    /// <summary>The box head over 7×7 RoI features of <paramref name="channels"/> channels: TwoMLPHead (v1) or
    /// FastRCNNConvFCHead 4×conv(256, BatchNorm) + FC (v2), both <paramref name="representationSize"/>-d
    /// (torchvision: 1024). The v2 convs are 256 wide in torchvision, whatever the FPN: here they are
    /// <paramref name="channels"/> wide (256 for every torchvision FPN), so that narrow models stay narrow.</summary>
    /// <param name="channels">FPN output channels, the RoI features' channels.</param>
    /// <param name="version">The torchvision recipe: 1 or 2.</param>
    /// <param name="representationSize">Width of the fully connected layers (torchvision: 1024).</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="version"/> is not 1 or 2.</exception>
    public static Module<Tensor, Tensor> CreateBoxHead(long channels, int version, long representationSize = 1024) => version switch
    {
        1 => new TwoMlpHead(channels * 7 * 7, representationSize),
        2 => new FastRcnnConvFcHead((channels, 7, 7), Enumerable.Repeat(channels, 4).ToArray(), new[] { representationSize }, batchNorm: true),
        _ => throw new ArgumentOutOfRangeException(nameof(version), version, "the torchvision recipes are version 1 or 2"),
    };
}
