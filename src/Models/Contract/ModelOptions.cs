using System.Text.Json.Serialization;

namespace MLNetSeg.Models;

/// <summary>
/// The settings of one model family for training (architecture, sizes, thresholds, initial
/// weights). Each family has its own derived record; <see cref="Family"/> names its registry entry.
/// The classes and keypoints come from the dataset, not from here.
/// </summary>
public abstract record ModelOptions
{
    /// <summary>The registry name of the family these options build (<see cref="ModelFamily.Name"/>).</summary>
    [JsonIgnore]
    public abstract string Family { get; }

    /// <summary>
    /// Weights to start from instead of a random initialisation (the family decides what it accepts,
    /// e.g. a torchvision detector's or an ImageNet classifier's state dict); null trains from scratch.
    /// </summary>
    public string? PretrainedWeights { get; init; }

    /// <summary>Throws <see cref="ArgumentException"/> naming the first setting out of range.</summary>
    public virtual void Validate()
    {
    }
}
