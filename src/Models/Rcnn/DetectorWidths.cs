namespace MLNetSeg.Models.Rcnn;

/// <summary>
/// Channel widths of a torchvision-style R-CNN. <see cref="Torchvision"/> are the widths of every
/// torchvision detection recipe (and of its checkpoints); <see cref="Compact"/> is a CPU-sized
/// model for training from scratch in minutes: with torchvision's widths the FPN, RPN and mask
/// head (256 channels at stride 4 and on 14×14 RoIs) cost more than a ResNet-18 itself.
/// </summary>
public sealed record DetectorWidths
{
    /// <summary>Channels of the ResNet stem and of layer1 (doubling per stage); torchvision: 64.</summary>
    public int Backbone { get; init; } = 64;

    /// <summary>FPN output channels, shared by the RPN head and the RoI heads' inputs; torchvision: 256.</summary>
    public int Fpn { get; init; } = 256;

    /// <summary>Box head representation size (TwoMLPHead's FCs, the v2 head's FC); torchvision: 1024.</summary>
    public int BoxHead { get; init; } = 1024;

    /// <summary>Mask head conv channels (4 convs and the transposed conv); torchvision: 256.</summary>
    public int MaskHead { get; init; } = 256;

    /// <summary>Keypoint head conv channels (8 convs); torchvision: 512.</summary>
    public int KeypointHead { get; init; } = 512;

    /// <summary>torchvision's widths: 64 / 256 / 1024 / 256 / 512.</summary>
    public static DetectorWidths Torchvision { get; } = new();

    /// <summary>
    /// A quarter of torchvision's FPN and head widths and half its backbone width
    /// (32 / 64 / 256 / 64 / 128): about 5× the training throughput of torchvision's widths for a
    /// ResNet-18 at 256×192 on a CPU, for models trained from scratch on small datasets.
    /// </summary>
    public static DetectorWidths Compact { get; } = new() { Backbone = 32, Fpn = 64, BoxHead = 256, MaskHead = 64, KeypointHead = 128 };

    /// <summary>Whether every width equals torchvision's (so torchvision checkpoints fit).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public bool IsTorchvision => this == Torchvision;

    /// <summary>Throws naming the first width that is not positive.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A width is below 1.</exception>
    public void Validate()
    {
        foreach (var (name, value) in new[] { (nameof(Backbone), Backbone), (nameof(Fpn), Fpn), (nameof(BoxHead), BoxHead),
                                              (nameof(MaskHead), MaskHead), (nameof(KeypointHead), KeypointHead) })
            if (value < 1) throw new ArgumentOutOfRangeException(name, value, $"DetectorWidths.{name} must be at least 1");
    }

    /// <summary>The five widths, e.g. "backbone 64, fpn 256, box head 1024, mask head 256, keypoint head 512".</summary>
    public override string ToString() =>
        $"backbone {Backbone}, fpn {Fpn}, box head {BoxHead}, mask head {MaskHead}, keypoint head {KeypointHead}";
}
