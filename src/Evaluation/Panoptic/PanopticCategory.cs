namespace MLNetSeg.Evaluation.Panoptic;

/// <summary>A panoptic category: things are countable objects, stuff amorphous regions.</summary>
public sealed record PanopticCategory(int Id, string Name, bool IsThing);
