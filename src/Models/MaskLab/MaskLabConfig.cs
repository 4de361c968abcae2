using System.Text.Json;
using MLNetSeg.Models.Rcnn;

namespace MLNetSeg.Models.MaskLab;

/// <summary>
/// MaskLab's part of its model-file section, after the R-CNN fields (type "masklab"):
/// <code>"masklab": { "semantic", "direction", "refinement", "deformable_crop", "crop_size", "logit_stride", "directions", "distance_bins" }</code>
/// </summary>
internal static class MaskLabConfig
{
    public const string SectionName = "masklab";

    /// <summary>The switches and sizes of <paramref name="model"/>, as options (the R-CNN settings left at their defaults).</summary>
    public static MaskLabOptions Of(MaskLabModel model) => new()
    {
        Semantic = model.Branch.Semantic is not null,
        Direction = model.Branch.Direction is not null,
        Refinement = model.Branch.Refinement is not null,
        DeformableCrop = model.DeformableCrop,
        CropSize = model.Branch.CropSize,
        LogitStride = model.Branch.LogitStride,
        Directions = model.Branch.Coding.Directions,
        DistanceBins = model.Branch.Coding.DistanceBins,
        SemanticClasses = model.Branch.SemanticClasses,
        ThingSemanticLabels = model.Branch.ThingSemanticLabels,
    };

    public static void Write(Utf8JsonWriter w, MaskLabOptions o)
    {
        w.WriteBoolean("semantic", o.Semantic);
        w.WriteBoolean("direction", o.Direction);
        w.WriteBoolean("refinement", o.Refinement);
        w.WriteBoolean("deformable_crop", o.DeformableCrop);
        w.WriteNumber("crop_size", o.CropSize);
        w.WriteNumber("logit_stride", o.LogitStride);
        w.WriteNumber("directions", o.Directions);
        w.WriteNumber("distance_bins", o.DistanceBins);
        if (o.SemanticClasses is { } classes)  // written only with stuff classes: files without them read as things only
        {
            w.WriteStartArray("semantic_classes");
            foreach (var name in classes) w.WriteStringValue(name);
            w.WriteEndArray();
            w.WriteStartArray("thing_semantic_labels");
            foreach (var label in o.ThingSemanticLabels!) w.WriteNumberValue(label);
            w.WriteEndArray();
        }
    }

    /// <summary>The switches of a "masklab" object; errors name the field.</summary>
    public static MaskLabOptions Read(ConfigField section)
    {
        var options = new MaskLabOptions
        {
            Semantic = section.Get("semantic").Bool(),
            Direction = section.Get("direction").Bool(),
            Refinement = section.Get("refinement").Bool(),
            DeformableCrop = section.Get("deformable_crop").Bool(),
            CropSize = section.Get("crop_size").Int(),
            LogitStride = section.Get("logit_stride").Int(),
            Directions = section.Get("directions").Int(),
            DistanceBins = section.Get("distance_bins").Int(),
            SemanticClasses = section.Has("semantic_classes") ? section.Get("semantic_classes").Array(f => f.String()) : null,
            ThingSemanticLabels = section.Has("thing_semantic_labels") ? section.Get("thing_semantic_labels").Array(f => f.Int()) : null,
        };
        try { options.Validate(); }
        catch (ArgumentException e) { throw section.Invalid(e.Message); }
        return options;
    }
}
