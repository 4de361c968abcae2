namespace MLNetSeg.Models;

/// <summary>
/// A model whose semantic maps are in a label space of their own — the classes of the dataset's label maps, stuff included — rather
/// than the detector's labels (0 = background, 1..K): the Panoptic FPN / IMP family. Evaluation scores its semantic maps against the
/// dataset's label maps and builds panoptic ground truth from them.
/// </summary>
public interface ISemanticLabelSpace
{
    /// <summary>The semantic classes in label-map order (things and stuff).</summary>
    IReadOnlyList<string> SemanticClasses { get; }

    /// <summary>The semantic class of each detector class 1..K (entry k − 1); the other semantic classes are stuff.</summary>
    IReadOnlyList<int> ThingSemanticLabels { get; }
}
