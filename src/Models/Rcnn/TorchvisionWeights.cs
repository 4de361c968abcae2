using MLNetSeg.Models.Backbones;
using MLNetSeg.Torch.Nn;

namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// One weight set torchvision publishes for its detectors, with what its builder sets beyond the
/// file: the architecture, the class and keypoint counts, and the eps of the ResNet body's
/// FrozenBatchNorm2d layers, which torchvision overwrites to 0 for some sets only (its
/// <c>overwrite_eps(model, 0.0)</c>). A model built with another eps would load the same file
/// without complaint but predict worse, so build from the set: <see cref="Load"/> for inference,
/// <see cref="MaskRcnnOptions.FromTorchvision"/> or <see cref="KeypointRcnnOptions.FromTorchvision"/> for fine-tuning.
/// </summary>
public sealed record TorchvisionWeightSet
{
    internal TorchvisionWeightSet() { }

    /// <summary>The property of <see cref="TorchvisionWeights"/> that holds this set (for messages).</summary>
    internal string Property { get; init; } = "";

    /// <summary>torchvision's name for the set, e.g. <c>MaskRCNN_ResNet50_FPN_Weights.COCO_V1</c>.</summary>
    public required string Name { get; init; }

    /// <summary>The file name torchvision downloads (the last part of <see cref="Url"/>), with its hash prefix.</summary>
    public required string FileName { get; init; }

    /// <summary>Where torchvision downloads the weights from.</summary>
    public string Url => "https://download.pytorch.org/models/" + FileName;

    /// <summary>The torchvision builder the weights belong to (maskrcnn_resnet50_fpn, maskrcnn_resnet50_fpn_v2, keypointrcnn_resnet50_fpn).</summary>
    public required string Builder { get; init; }

    /// <summary>Classes including background (91 for the COCO detectors, 2 for person keypoints).</summary>
    public required int NumClasses { get; init; }

    /// <summary>Keypoints per instance; 0 for Mask R-CNN.</summary>
    public int NumKeypoints { get; init; }

    /// <summary>eps of the ResNet body's FrozenBatchNorm2d layers; null for the v2 model, whose body uses BatchNorm2d.</summary>
    public double? FrozenBatchNormEps { get; init; }

    /// <summary>Category names by contiguous label (index 0 is background; COCO's unused ids are "N/A"), from torchvision's meta.</summary>
    public required IReadOnlyList<string> Categories { get; init; }

    private bool IsKeypoint => Builder.StartsWith("keypoint", StringComparison.Ordinal);
    private bool IsV2 => Builder.EndsWith("_v2", StringComparison.Ordinal);

    /// <summary>
    /// <paramref name="settings"/> (torchvision's defaults when null) with what this set fixes: the
    /// class and keypoint counts and the FrozenBatchNorm2d eps.
    /// </summary>
    /// <param name="settings">Input sizes, thresholds and other settings to keep.</param>
    public RcnnOptions Options(RcnnOptions? settings = null)
    {
        var options = (settings ?? new RcnnOptions()) with { NumClasses = NumClasses };
        if (IsKeypoint) options = options with { NumKeypoints = NumKeypoints };
        if (FrozenBatchNormEps is double eps) options = options with { FrozenBatchNormEps = eps };
        return options;
    }

    /// <summary>The untrained model these weights fit, built as torchvision's builder builds it.</summary>
    /// <param name="settings">Input sizes, thresholds and other settings to keep (see <see cref="Options"/>).</param>
    public GeneralizedRcnn Create(RcnnOptions? settings = null) =>
        IsKeypoint ? KeypointRcnn.ResNet50Fpn(Options(settings))
        : IsV2 ? MaskRcnn.ResNet50FpnV2(Options(settings))
        : MaskRcnn.ResNet50Fpn(Options(settings));

    /// <summary>
    /// Builds the model (<see cref="Create"/>), loads <paramref name="path"/> into it strictly and
    /// puts it in eval mode: torchvision's <c>builder(weights=...).eval()</c>. The caller owns the
    /// model (dispose it).
    /// </summary>
    /// <param name="path">This set's file (.pth as downloaded, or converted to safetensors), whatever its name.</param>
    /// <param name="settings">Input sizes, thresholds and other settings to keep (see <see cref="Options"/>).</param>
    /// <exception cref="StateDictException">The file does not hold this model's entries (the message names them).</exception>
    public GeneralizedRcnn Load(string path, RcnnOptions? settings = null)
    {
        var model = Create(settings);
        try
        {
            model.LoadWeights(path);
            model.Eval();
            return model;
        }
        catch
        {
            model.Dispose();
            throw;
        }
    }

    /// <summary>
    /// <paramref name="options"/> set up to fine-tune from these weights at <paramref name="path"/>:
    /// torchvision's architecture and widths, this set's eps, <paramref name="settings"/> for the rest.
    /// </summary>
    internal T FineTuning<T>(T options, string path, RcnnOptions? settings) where T : RcnnModelOptions
    {
        ArgumentNullException.ThrowIfNull(path);
        bool keypointOptions = options is KeypointRcnnOptions;
        if (keypointOptions != IsKeypoint)
            throw new ArgumentException($"{Name} holds {Builder} weights; use {(IsKeypoint ? nameof(KeypointRcnnOptions) : nameof(MaskRcnnOptions))}.FromTorchvision for it.");
        return options with
        {
            PretrainedWeights = path,
            Backbone = ResNetDepth.ResNet50,
            Norm = IsV2 ? BackboneNorm.BatchNorm : BackboneNorm.FrozenBatchNorm,
            HeadVersion = IsV2 ? 2 : 1,
            Widths = DetectorWidths.Torchvision,
            Settings = Options(settings) with { NumClasses = null },  // the dataset gives the classes
        };
    }

    /// <summary>Whether <paramref name="path"/>'s file name is this set's (torchvision names files by a hash prefix).</summary>
    public bool Matches(string path)
    {
        ArgumentNullException.ThrowIfNull(path);
        int dash = FileName.LastIndexOf('-');
        string hashTag = FileName[dash..FileName.LastIndexOf('.')];  // e.g. "-bf2d0c1e"
        return Path.GetFileName(path).Contains(hashTag, StringComparison.OrdinalIgnoreCase);
    }

    /// <inheritdoc/>
    public override string ToString() => $"{Name} ({FileName})";
}

/// <summary>
/// The detector weights torchvision 0.14 publishes, as <see cref="TorchvisionWeightSet"/>s: build
/// with the set and the settings torchvision applies come with it.
/// <code>
/// using var model = TorchvisionWeights.MaskRcnnResNet50FpnCocoV1.Load("maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth");
/// </code>
/// Loading one of these files (recognised by its file name) into a model whose FrozenBatchNorm2d
/// eps differs from the set's fails with a message naming the set (<see cref="ModelWeights"/>).
/// </summary>
public static class TorchvisionWeights
{
    // Declared first: the sets below read it in their initialisers (textual order).
    /// <summary>COCO's 91 contiguous labels as torchvision's detectors use them: background first, "N/A"
    /// for the ids COCO 2017 leaves unused.</summary>
    public static IReadOnlyList<string> CocoCategories { get; } = new[]
    {
        "__background__", "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
        "traffic light", "fire hydrant", "N/A", "stop sign", "parking meter", "bench", "bird", "cat", "dog", "horse",
        "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "N/A", "backpack", "umbrella", "N/A", "N/A",
        "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball", "kite", "baseball bat",
        "baseball glove", "skateboard", "surfboard", "tennis racket", "bottle", "N/A", "wine glass", "cup", "fork",
        "knife", "spoon", "bowl", "banana", "apple", "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza",
        "donut", "cake", "chair", "couch", "potted plant", "bed", "N/A", "dining table", "N/A", "N/A", "toilet",
        "N/A", "tv", "laptop", "mouse", "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
        "refrigerator", "N/A", "book", "clock", "vase", "scissors", "teddy bear", "hair drier", "toothbrush"
    };

    /// <summary>MaskRCNN_ResNet50_FPN_Weights.COCO_V1 (box AP 37.9, mask AP 34.6): FrozenBatchNorm2d eps 0.</summary>
    public static TorchvisionWeightSet MaskRcnnResNet50FpnCocoV1 { get; } = new()
    {
        Property = nameof(MaskRcnnResNet50FpnCocoV1),
        Name = "MaskRCNN_ResNet50_FPN_Weights.COCO_V1",
        FileName = "maskrcnn_resnet50_fpn_coco-bf2d0c1e.pth",
        Builder = "maskrcnn_resnet50_fpn",
        NumClasses = 91,
        FrozenBatchNormEps = 0,
        Categories = CocoCategories,
    };

    /// <summary>MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1 (box AP 47.4, mask AP 41.8): BatchNorm2d body, no eps override.</summary>
    public static TorchvisionWeightSet MaskRcnnResNet50FpnV2CocoV1 { get; } = new()
    {
        Property = nameof(MaskRcnnResNet50FpnV2CocoV1),
        Name = "MaskRCNN_ResNet50_FPN_V2_Weights.COCO_V1",
        FileName = "maskrcnn_resnet50_fpn_v2_coco-73cbd019.pth",
        Builder = "maskrcnn_resnet50_fpn_v2",
        NumClasses = 91,
        FrozenBatchNormEps = null,
        Categories = CocoCategories,
    };

    /// <summary>KeypointRCNN_ResNet50_FPN_Weights.COCO_V1 (box AP 54.6, keypoint AP 65.0): FrozenBatchNorm2d eps 0.</summary>
    public static TorchvisionWeightSet KeypointRcnnResNet50FpnCocoV1 { get; } = new()
    {
        Property = nameof(KeypointRcnnResNet50FpnCocoV1),
        Name = "KeypointRCNN_ResNet50_FPN_Weights.COCO_V1",
        FileName = "keypointrcnn_resnet50_fpn_coco-fc266e95.pth",
        Builder = "keypointrcnn_resnet50_fpn",
        NumClasses = 2,
        NumKeypoints = 17,
        FrozenBatchNormEps = 0,
        Categories = new[] { "no person", "person" },
    };

    /// <summary>KeypointRCNN_ResNet50_FPN_Weights.COCO_LEGACY (box AP 50.6, keypoint AP 61.1): torchvision keeps eps 1e-5 for it.</summary>
    public static TorchvisionWeightSet KeypointRcnnResNet50FpnCocoLegacy { get; } = new()
    {
        Property = nameof(KeypointRcnnResNet50FpnCocoLegacy),
        Name = "KeypointRCNN_ResNet50_FPN_Weights.COCO_LEGACY",
        FileName = "keypointrcnn_resnet50_fpn_coco-9f466800.pth",
        Builder = "keypointrcnn_resnet50_fpn",
        NumClasses = 2,
        NumKeypoints = 17,
        FrozenBatchNormEps = 1e-5,
        Categories = new[] { "no person", "person" },
    };

    /// <summary>Every set above.</summary>
    public static IReadOnlyList<TorchvisionWeightSet> All { get; } = new[]
    {
        MaskRcnnResNet50FpnCocoV1, MaskRcnnResNet50FpnV2CocoV1, KeypointRcnnResNet50FpnCocoV1, KeypointRcnnResNet50FpnCocoLegacy,
    };

    /// <summary>The set whose file <paramref name="path"/> is, by its file name's hash; null when none matches (e.g. a renamed file).</summary>
    public static TorchvisionWeightSet? Recognize(string path) => All.FirstOrDefault(s => s.Matches(path));

    /// <summary>
    /// Throws when <paramref name="path"/> is a known set's file and <paramref name="model"/>'s
    /// FrozenBatchNorm2d layers use another eps than the set was published with.
    /// </summary>
    internal static void CheckSettings(Module model, string path)
    {
        if (Recognize(path) is not { FrozenBatchNormEps: double expected } set) return;
        var actual = model.Modules().OfType<FrozenBatchNorm2d>().Select(m => m.Eps).Distinct().ToList();
        if (actual.Count == 0 || actual.All(e => e == expected)) return;
        throw new ArgumentException(
            $"{path} is torchvision's {set.Name}, made for FrozenBatchNorm2d eps {expected:R}, but this model's layers use eps " +
            $"{string.Join(", ", actual.Select(e => e.ToString("R")))}: it would load and predict badly. Build the model from the set " +
            $"(TorchvisionWeights.{set.Property}.Load(path) or .Create(); MaskRcnnOptions/KeypointRcnnOptions.FromTorchvision to fine-tune), or set " +
            $"RcnnOptions.FrozenBatchNormEps = {expected:R}; WeightLoadOptions.IgnoreTorchvisionSettings skips this check.", nameof(path));
    }
}
