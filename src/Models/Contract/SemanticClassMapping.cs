namespace MLNetSeg.Models;

/// <summary>
/// The checks and the detector → semantic class map shared by the families that train on a dataset's label maps (Panoptic FPN / IMP,
/// MaskLab with stuff): the label maps' class names, and for each detector class 1..K the index of its semantic class (null: class k
/// is semantic class k − 1, things first as in the synthetic set and COCO panoptic's ordering). The other semantic classes are stuff.
/// </summary>
internal static class SemanticClassMapping
{
    /// <summary>Throws naming the option when the names or the map are malformed (a null list passes unless <paramref name="required"/>).</summary>
    public static void Validate(IReadOnlyList<string>? classes, IReadOnlyList<int>? thingLabels, bool required,
        string classesOption = "SemanticClasses", string thingsOption = "ThingSemanticLabels")
    {
        if (classes is null)
        {
            if (required)
                throw new ArgumentException($"{classesOption} must name the semantic classes of the label maps (1 to 255 non-empty names), e.g. from semantic/labels.json", classesOption);
            if (thingLabels is not null) throw new ArgumentException($"{thingsOption} is set without {classesOption}", thingsOption);
            return;
        }
        if (classes.Count is < 1 or > 255 || classes.Any(string.IsNullOrWhiteSpace))
            throw new ArgumentException($"{classesOption} must name the semantic classes of the label maps (1 to 255 non-empty names), e.g. from semantic/labels.json", classesOption);
        if (thingLabels is not null && (thingLabels.Any(l => l < 0 || l >= classes.Count) || thingLabels.Distinct().Count() != thingLabels.Count))
            throw new ArgumentException($"{thingsOption} must hold distinct indices into the {classes.Count} semantic classes", thingsOption);
    }

    /// <summary>The semantic class of each of <paramref name="things"/> detector classes.</summary>
    public static int[] ThingLabels(IReadOnlyList<int>? thingLabels, int things) => thingLabels?.ToArray() ?? Enumerable.Range(0, things).ToArray();

    /// <summary>Checks that each detector class (<paramref name="thingNames"/>, background excluded) maps to the semantic class of its name.</summary>
    /// <exception cref="ArgumentException">The counts or a name disagree.</exception>
    public static void CheckThings(IReadOnlyList<string> classes, IReadOnlyList<int>? thingLabels, IReadOnlyList<string> thingNames,
        string thingsOption = "ThingSemanticLabels")
    {
        var map = ThingLabels(thingLabels, thingNames.Count);
        if (map.Length != thingNames.Count)
            throw new ArgumentException($"{thingsOption} has {map.Length} entries but the detector has {thingNames.Count} classes", thingsOption);
        for (int k = 0; k < map.Length; k++)
            if (map[k] >= classes.Count || !string.Equals(classes[map[k]], thingNames[k], StringComparison.OrdinalIgnoreCase))
                throw new ArgumentException($"detector class {k + 1} '{thingNames[k]}' maps to semantic class {map[k]} " +
                                            $"'{(map[k] < classes.Count ? classes[map[k]] : "(none)")}'; set {thingsOption} " +
                                            "so that each detector class maps to the semantic class of its name", thingsOption);
    }
}
