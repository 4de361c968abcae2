using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Vision.Imaging;

/// <summary>Looks of <see cref="Visualizer.Draw"/>.</summary>
public sealed record VisualizerOptions
{
    /// <summary>Opacity of instance masks (0 = invisible, 1 = opaque).</summary>
    public double MaskAlpha { get; init; } = 0.5;
    /// <summary>Width in pixels of box outlines, drawn inward from the box's border.</summary>
    public int BoxThickness { get; init; } = 2;
    /// <summary>Radius in pixels of the disc drawn at each keypoint.</summary>
    public double KeypointRadius { get; init; } = 3;
    /// <summary>Width in pixels of the skeleton's lines.</summary>
    public int SkeletonThickness { get; init; } = 2;
    /// <summary>Keypoints whose score (when <see cref="Instances.KeypointScores"/> exist) is at or below this are not drawn.</summary>
    public double KeypointScoreThreshold { get; init; } = double.NegativeInfinity;
    /// <summary>Skeleton for the keypoints; null picks <see cref="KeypointSchema.CocoPerson"/> when there are 17
    /// keypoints and draws points only otherwise.</summary>
    public KeypointSchema? KeypointSchema { get; init; }
    /// <summary>Size of the label text: each pixel of the 5×7 <see cref="BitmapFont"/> becomes a FontScale² square.</summary>
    public int FontScale { get; init; } = 1;
    /// <summary>Whether the tag shows the score (two decimals) after the class name, when the instances have scores.</summary>
    public bool ShowScores { get; init; } = true;
}

/// <summary>
/// Renders <see cref="Instances"/> over an image: translucent masks, box outlines, keypoints with
/// their skeleton, and a "name score" tag per instance. Each category gets the colour
/// <see cref="ColorPalette.ForIndex"/>(label), so a class looks the same in every image.
/// </summary>
public static class Visualizer
{
    /// <summary>A new RGB image (the input is not modified; grey is expanded, alpha dropped) with
    /// <paramref name="instances"/> drawn on it. Layers, bottom to top: masks, boxes, skeletons,
    /// keypoints, labels.</summary>
    /// <param name="image">The image the instances were predicted on (any channel count); not modified.</param>
    /// <param name="instances">What to draw, in the image's pixels.</param>
    /// <param name="categoryNames">Name per label index; null shows the label numbers.</param>
    /// <param name="options">Looks; the defaults of <see cref="VisualizerOptions"/> when null.</param>
    /// <exception cref="ArgumentException">The instances belong to an image of another size, a label is negative or has no name,
    /// or the keypoint schema does not match the keypoints.</exception>
    public static Image Draw(Image image, Instances instances, IReadOnlyList<string>? categoryNames = null, VisualizerOptions? options = null)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(instances);
        options ??= new VisualizerOptions();
        if (instances.ImageHeight != image.Height || instances.ImageWidth != image.Width)
            throw new ArgumentException(
                $"the instances belong to a {instances.ImageHeight}x{instances.ImageWidth} image but the image is {image.Height}x{image.Width}; resize one to match", nameof(instances));
        var canvas = image.ToRgb();
        int n = instances.Count;
        var colours = new Rgb[n];
        for (int i = 0; i < n; i++)
        {
            int label = instances.Labels[i];
            if (label < 0) throw new ArgumentException($"instance {i} has negative label {label}", nameof(instances));
            colours[i] = ColorPalette.ForIndex(label);
        }

        if (instances.Masks is { } masks)
            for (int i = 0; i < n; i++)
                Painter.BlendMask(canvas, masks[i].Decode().Pixels, colours[i], options.MaskAlpha);

        for (int i = 0; i < n; i++)
        {
            var b = instances.Boxes[i];
            Painter.DrawBox(canvas, b.X1, b.Y1, b.X2, b.Y2, colours[i], options.BoxThickness);
        }

        if (instances.Keypoints is { } keypoints)
            DrawKeypoints(canvas, keypoints, instances.KeypointScores, colours, options);

        for (int i = 0; i < n; i++)
            DrawLabel(canvas, instances, i, categoryNames, colours[i], options);
        return canvas;
    }

    /// <summary>
    /// A semantic label map over <paramref name="image"/>: every labelled pixel blended with its class's palette colour
    /// (<see cref="ColorPalette.ForIndex"/> of the label), unlabelled pixels (<see cref="SemanticLabelMap.IgnoreLabel"/>) untouched,
    /// and, with <paramref name="classNames"/>, a legend of the classes present in the top-left corner.
    /// </summary>
    /// <exception cref="ArgumentException">The map and the image differ in size, or a label has no name.</exception>
    public static Image DrawSemantic(Image image, SemanticLabelMap semantic, IReadOnlyList<string>? classNames = null, double alpha = 0.5, int fontScale = 1)
    {
        ArgumentNullException.ThrowIfNull(image);
        ArgumentNullException.ThrowIfNull(semantic);
        if (semantic.Height != image.Height || semantic.Width != image.Width)
            throw new ArgumentException($"the semantic map is {semantic.Height}x{semantic.Width} but the image is {image.Height}x{image.Width}", nameof(semantic));
        var canvas = image.ToRgb();
        var labels = semantic.Labels;
        var present = new SortedSet<int>();
        for (int p = 0; p < labels.Length; p++)
            if (labels[p] != SemanticLabelMap.IgnoreLabel) present.Add(labels[p]);
        foreach (int label in present)
        {
            var mask = new byte[labels.Length];
            for (int p = 0; p < labels.Length; p++) mask[p] = labels[p] == label ? (byte)1 : (byte)0;
            Painter.BlendMask(canvas, mask, ColorPalette.ForIndex(label), alpha);
        }
        if (classNames is not null)
        {
            int y = 1;
            foreach (int label in present)
            {
                string text = label < classNames.Count ? classNames[label]
                    : throw new ArgumentException($"label {label} is in the map but only {classNames.Count} class names were given", nameof(classNames));
                var colour = ColorPalette.ForIndex(label);
                Painter.DrawText(canvas, 1, y, text, Contrast(colour), fontScale, background: colour);
                y += BitmapFont.Measure(text, fontScale).Height + 1;
            }
        }
        return canvas;
    }

    private static void DrawKeypoints(Image canvas, Keypoints keypoints, IReadOnlyList<IReadOnlyList<float>>? scores, Rgb[] colours, VisualizerOptions options)
    {
        int k = keypoints.KeypointsPerInstance;
        var schema = options.KeypointSchema ?? (k == KeypointSchema.CocoPerson.Count ? KeypointSchema.CocoPerson : null);
        if (schema is not null && schema.Count != k)
            throw new ArgumentException($"the keypoint schema has {schema.Count} keypoints but the instances have {k}", nameof(options));
        for (int i = 0; i < keypoints.Count; i++)
        {
            bool Shown(int j) => keypoints.Visibility(i, j) > 0 && (scores is null || scores[i][j] > options.KeypointScoreThreshold);
            if (schema is not null)
                foreach (var (from, to) in schema.Skeleton)
                    if (Shown(from) && Shown(to))
                        Painter.DrawLine(canvas,
                            (int)Math.Round(keypoints.X(i, from)), (int)Math.Round(keypoints.Y(i, from)),
                            (int)Math.Round(keypoints.X(i, to)), (int)Math.Round(keypoints.Y(i, to)),
                            colours[i], options.SkeletonThickness);
            for (int j = 0; j < k; j++)
                if (Shown(j))
                    Painter.FillCircle(canvas, keypoints.X(i, j), keypoints.Y(i, j), options.KeypointRadius, Contrast(colours[i]));
        }
    }

    /// <summary>The tag sits just above the box's top-left corner, or inside the box when the box
    /// touches the top of the image.</summary>
    private static void DrawLabel(Image canvas, Instances instances, int i, IReadOnlyList<string>? names, Rgb colour, VisualizerOptions options)
    {
        int label = instances.Labels[i];
        string text = names is null ? label.ToString(System.Globalization.CultureInfo.InvariantCulture)
            : label < names.Count ? names[label]
            : throw new ArgumentException($"instance {i} has label {label} but only {names.Count} category names were given", nameof(names));
        if (options.ShowScores && instances.Scores is { } scores)
            text += " " + scores[i].ToString("0.00", System.Globalization.CultureInfo.InvariantCulture);
        var box = instances.Boxes[i];
        var (_, h) = BitmapFont.Measure(text, options.FontScale);
        int x = (int)Math.Floor(box.X1) + 1;
        int y = (int)Math.Floor(box.Y1) - h - 1;
        if (y < 1) y = (int)Math.Floor(box.Y1) + options.BoxThickness + 1;
        Painter.DrawText(canvas, x, y, text, Contrast(colour), options.FontScale, background: colour);
    }

    /// <summary>Black or white, whichever reads better on <paramref name="c"/> (Rec. 601 luma).</summary>
    public static Rgb Contrast(Rgb c) => 0.299 * c.R + 0.587 * c.G + 0.114 * c.B > 140 ? Rgb.Black : Rgb.White;
}
