using System.Text.Json;
using MLNetSeg.Data.Loading;
using MLNetSeg.Models;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Training.Tests.TinySemanticFamily;

// A model family that exists only in this folder: a two-layer per-pixel classifier (conv 3x3 → ReLU →
// conv 1x1 to C logits) trained on semantic maps made from the instance masks. It proves that a family
// goes through the generic paths — trainer, model files, predictor, evaluation — with nothing outside
// its folder changed: the one registration line is TinySemanticFamily.Register() in its tests.

/// <summary>The family's options.</summary>
public sealed record TinySemanticOptions : ModelOptions
{
    [System.Text.Json.Serialization.JsonIgnore]
    public override string Family => TinySemanticFamily.FamilyName;

    /// <summary>Channels of the hidden layer.</summary>
    public int Hidden { get; init; } = 8;

    public override void Validate()
    {
        if (Hidden < 1) throw new ArgumentException($"Hidden must be at least 1, got {Hidden}", nameof(Hidden));
    }
}

/// <summary>The registry entry.</summary>
public sealed class TinySemanticFamily : ModelFamily
{
    public const string FamilyName = "tinysemantic";

    public static TinySemanticFamily Instance { get; } = new();

    public static void Register() => ModelRegistry.Register(Instance);

    public override string Name => FamilyName;

    public override string DisplayName => "Tiny semantic net (test family)";

    public override Type OptionsType => typeof(TinySemanticOptions);

    public override SegmentationTasks TasksFor(ModelOptions options) => SegmentationTasks.Semantic;

    public override ModelOptions CreateDefaultOptions() => new TinySemanticOptions();

    public override ISegmentationModel Create(ModelOptions options, ModelFileInfo labels)
    {
        var typed = OptionsOf<TinySemanticOptions>(options);
        typed.Validate();
        return new TinySemanticNet(labels.NumClasses, typed.Hidden);
    }

    public override ISegmentationModel Build(ConfigField section, ModelFileInfo labels, int formatVersion) =>
        new TinySemanticNet(section.Get("num_classes").Int(), section.Get("hidden").Int());
}

/// <summary>The family's target: a [H, W] int64 label map (0 background, 255 ignored).</summary>
public sealed record SemanticTarget(Tensor Labels) : ITrainingTarget;

/// <summary>The network.</summary>
public sealed class TinySemanticNet : Module, ISegmentationModel
{
    private readonly Conv2d _hidden;
    private readonly Conv2d _classifier;

    public TinySemanticNet(int numClasses, int hidden)
    {
        NumClasses = numClasses;
        Hidden = hidden;
        _hidden = RegisterModule("hidden", new Conv2d(3, hidden, 3, padding: 1));
        _classifier = RegisterModule("classifier", new Conv2d(hidden, numClasses, 1));
        Eval();
    }

    public int Hidden { get; }

    public int NumClasses { get; }

    public ModelFamily Family => TinySemanticFamily.Instance;

    Module ISegmentationModel.Module => this;

    public SegmentationTasks Tasks => SegmentationTasks.Semantic;

    private Tensor Logits(Tensor image) => _classifier.Forward(Functional.Relu(_hidden.Forward(image.Unsqueeze(0))));

    public IReadOnlyList<SegmentationResult> Predict(IReadOnlyList<Tensor> images)
    {
        using var noGrad = NoGradScope.Enter();
        var results = new List<SegmentationResult>(images.Count);
        foreach (var image in images)
        {
            using var scope = DisposeScope.Enter();
            int h = (int)image.Size(1), w = (int)image.Size(2);
            var labels = Logits(image).Argmax(1).Select(0, 0).To(DType.Int32).Contiguous().ToArray<int>();
            results.Add(new SegmentationResult(null, new SemanticLabelMap(h, w, labels)));
        }
        return results;
    }

    public ITrainingTarget CreateTarget(DetectionTarget target, ImageSize size, Device device, string describe)
    {
        var masks = target.Masks ?? throw new ArgumentException($"{describe}: the tiny semantic net trains on instance masks, and this image has none");
        var labels = new long[size.Height * size.Width];
        for (int i = 0; i < target.Count; i++)
        {
            long value = target.IsCrowd[i] ? 255 : target.Labels[i];
            var pixels = masks[i].Pixels;
            for (int p = 0; p < labels.Length; p++)
                if (pixels[p] != 0) labels[p] = value;
        }
        return new SemanticTarget(Tensor.FromArray(labels, new long[] { size.Height, size.Width }, device));
    }

    public IReadOnlyDictionary<string, Tensor> ComputeLosses(IReadOnlyList<Tensor> images, IReadOnlyList<ITrainingTarget> targets)
    {
        Tensor? total = null;
        for (int i = 0; i < images.Count; i++)
        {
            var target = (SemanticTarget)targets[i];
            var loss = Functional.CrossEntropy(Logits(images[i]), target.Labels.Unsqueeze(0), ignoreIndex: 255);
            total = total is null ? loss : total + loss;
        }
        return new Dictionary<string, Tensor> { ["loss_sem_seg"] = total! / images.Count };
    }

    public void WriteConfig(Utf8JsonWriter writer)
    {
        writer.WriteNumber("num_classes", NumClasses);
        writer.WriteNumber("hidden", Hidden);
    }

    public string LoadPretrainedWeights(string path) => throw new NotSupportedException("the tiny semantic net has no pretrained weights");

    public void PrepareForInference() => Eval();
}
