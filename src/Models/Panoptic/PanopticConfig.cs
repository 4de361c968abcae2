using System.Text.Json;

namespace MLNetSeg.Models.Panoptic;

/// <summary>The "panoptic" object of a Panoptic FPN / IMP model file's section: the switches, semantic classes and thresholds
/// (<see cref="PanopticOptions"/> less the detector settings, which the R-CNN fields hold).</summary>
internal static class PanopticConfig
{
    public const string SectionName = "panoptic";

    public static void Write(Utf8JsonWriter w, PanopticOptions o)
    {
        w.WriteString("semantic_head", o.SemanticHead.ToString().ToLowerInvariant());
        w.WriteBoolean("imp", o.Imp);
        w.WriteBoolean("instances", o.Instances);
        w.WriteStartArray("semantic_classes");
        foreach (var name in o.SemanticClasses!) w.WriteStringValue(name);
        w.WriteEndArray();
        w.WriteStartArray("thing_semantic_labels");
        foreach (var label in o.ThingSemanticLabels!) w.WriteNumberValue(label);
        w.WriteEndArray();
        w.WriteNumber("semantic_conv_dims", o.SemanticConvDims);
        w.WriteNumber("imp_convs", o.ImpConvs);
        w.WriteNumber("semantic_loss_weight", o.SemanticLossWeight);
        w.WriteNumber("panoptic_instance_score", o.PanopticInstanceScore);
        w.WriteNumber("panoptic_overlap", o.PanopticOverlap);
        w.WriteNumber("panoptic_stuff_area", o.PanopticStuffArea);
        w.WriteNumber("imp_canvas_threshold", o.ImpCanvasThreshold);
    }

    /// <summary>The switches of <paramref name="section"/> (validated; errors name the field).</summary>
    public static PanopticOptions Read(ConfigField section)
    {
        var head = section.Get("semantic_head");
        var options = new PanopticOptions
        {
            SemanticHead = head.Parse(s => Enum.TryParse<SemanticHeadKind>(s, ignoreCase: true, out var k) && Enum.IsDefined(k)
                ? k : throw new FormatException($"'{s}' is none of none, p2, fpn")),
            Imp = section.Get("imp").Bool(),
            Instances = section.Get("instances").Bool(),
            SemanticClasses = section.Get("semantic_classes").Array(f => f.String()),
            ThingSemanticLabels = section.Get("thing_semantic_labels").Array(f => f.Int()),
            SemanticConvDims = section.Get("semantic_conv_dims").Int(),
            ImpConvs = section.Get("imp_convs").Int(),
            SemanticLossWeight = section.Get("semantic_loss_weight").Double(),
            PanopticInstanceScore = section.Get("panoptic_instance_score").Double(),
            PanopticOverlap = section.Get("panoptic_overlap").Double(),
            PanopticStuffArea = section.Get("panoptic_stuff_area").Int(),
            ImpCanvasThreshold = section.Get("imp_canvas_threshold").Double(),
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw section.Invalid(e.Message); }
        return options;
    }
}
