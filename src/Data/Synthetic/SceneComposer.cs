using MLNetSeg.Data.Coco;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Synthetic;

/// <summary>One annotation of a composed image, before ids are assigned.</summary>
internal sealed record SceneAnnotation(
    int CategoryId, bool IsCrowd, CocoSegmentation Segmentation, double[] Bbox, long Area, double[]? Keypoints, int? NumKeypoints);

/// <summary>A finished image: RGB pixels, semantic labels and annotations (top-most last).</summary>
internal sealed record ComposedScene(int Width, int Height, byte[] Rgb, byte[] SemanticLabels, IReadOnlyList<SceneAnnotation> Annotations, int FullyOccluded);

/// <summary>
/// Composes one image from its own random stream: stuff bands, clutter, an optional crowd region,
/// then shapes and persons in random z-order, each painted over everything before it.
/// </summary>
/// <remarks>
/// Placement is by rejection: a candidate object is accepted only if (1) its in-frame area lies in
/// the COCO area range it was planned for, and (2) every object it partly covers keeps at least
/// <see cref="SyntheticOptions.MinVisibleFraction"/> of its pixels and stays in its own area range.
/// Objects it covers completely are allowed and dropped from the annotations. So the annotated
/// size mix is the planned one, and occlusion is common but never leaves slivers.
/// </remarks>
internal sealed class SceneComposer
{
    private const int MaxAttempts = 12;

    private readonly SyntheticOptions _options;
    private readonly SceneRandom _rng;
    private readonly SceneCanvas _canvas;
    private readonly List<PlacedInstance> _instances = [];

    private sealed class PlacedInstance
    {
        public required int CategoryId { get; init; }
        public required bool IsCrowd { get; init; }
        public required AreaRange? Range { get; init; }
        public required long FullArea { get; init; }
        public long VisibleArea { get; set; }
        /// <summary>The polygons that rasterise to the full mask; null for crowd regions.</summary>
        public IReadOnlyList<double[]>? Polygons { get; init; }
        /// <summary>17 (x, y) pairs for persons.</summary>
        public double[]? Keypoints { get; init; }
    }

    private sealed record Candidate(int[] Pixels, IReadOnlyList<double[]> Polygons, Action<int[]> Paint, double[]? Keypoints);

    private enum Planned { Shape, Person }

    private SceneComposer(SyntheticOptions options, SceneRandom rng)
    {
        _options = options;
        _rng = rng;
        _canvas = new SceneCanvas(options.Width, options.Height);
    }

    public static ComposedScene Compose(SyntheticOptions options, SceneRandom rng) => new SceneComposer(options, rng).Compose();

    private int W => _canvas.Width;
    private int H => _canvas.Height;

    private ComposedScene Compose()
    {
        StuffBackground.Paint(_canvas, _rng);
        if (_rng.Chance(_options.ClutterProbability)) StuffBackground.PaintClutter(_canvas, _rng);
        if (_rng.Chance(_options.CrowdProbability)) PlaceCrowd();

        var plan = new List<(Planned Kind, int CategoryId, AreaRange Range)>();
        int shapes = _rng.Int(_options.MinShapes, _options.MaxShapes);
        for (int i = 0; i < shapes; i++)
            plan.Add((Planned.Shape, _rng.Pick(SyntheticClasses.ShapeCategoryIds), PickRange()));
        for (int i = 0; i < _options.MaxPersons; i++)
            if (_rng.Chance(_options.PersonProbability))
                plan.Add((Planned.Person, SyntheticClasses.PersonCategoryId, PickRange()));
        _rng.Shuffle(plan);
        // A large object fills most of a small frame; more than one per image rarely fits.
        bool oneLargeOnly = 3 * AreaRanges.MediumMax > (long)W * H;
        bool haveLarge = false;
        foreach (var (kind, category, planned) in plan)
        {
            var range = planned;
            if (range == AreaRange.Large && oneLargeOnly && haveLarge) range = AreaRange.Medium;
            if (kind == Planned.Person && range == AreaRange.Large && !LargePersonFits()) range = AreaRange.Medium;
            bool placed = false;
            for (int attempt = 0; attempt < MaxAttempts && !placed; attempt++)
            {
                var candidate = kind == Planned.Person ? PersonCandidate(range) : ShapeCandidate(category, range);
                if (candidate is not null && OcclusionAllowed(candidate.Pixels))
                {
                    Commit(candidate, category, isCrowd: false, range);
                    placed = true;
                }
            }
            haveLarge |= placed && range == AreaRange.Large;
        }
        return Finish();
    }

    private AreaRange PickRange() =>
        (AreaRange)_rng.PickWeighted([_options.SmallWeight, _options.MediumWeight, _options.LargeWeight]);

    /// <summary>Sides (square roots of the target area) each range is drawn from, kept clear of the range boundaries.</summary>
    private (double Min, double Max) SideRange(AreaRange range, bool person) => range switch
    {
        AreaRange.Small => (person ? 14 : 9, 30.5),
        AreaRange.Medium => (33, 94),
        _ => (98, Math.Max(Math.Sqrt(0.45 * W * H), 104)),
    };

    private double SampleSide(AreaRange range, bool person)
    {
        var (min, max) = SideRange(range, person);
        return Math.Exp(_rng.Uniform(Math.Log(min), Math.Log(max)));  // log-uniform: as many 10 px as 20 px objects
    }

    /// <summary>Stick figures cover about <see cref="PersonAreaPerHeight2"/> × height²; a large one needs a tall frame.</summary>
    private bool LargePersonFits() => PersonAreaPerHeight2 * Math.Pow(0.9 * H, 2) > 1.1 * AreaRanges.MediumMax;

    private const double PersonAreaPerHeight2 = 0.2;

    private Candidate? ShapeCandidate(int categoryId, AreaRange range)
    {
        double side = SampleSide(range, person: false);
        double[] unit = categoryId switch
        {
            SyntheticClasses.CircleCategoryId => PolygonGeometry.Ellipse(1, 1, PolygonGeometry.CurvePoints(side / 2)),
            SyntheticClasses.EllipseCategoryId => PolygonGeometry.Ellipse(1, _rng.Uniform(0.4, 0.7), PolygonGeometry.CurvePoints(side / 1.5)),
            SyntheticClasses.SquareCategoryId => [-1, -1, 1, -1, 1, 1, -1, 1],
            SyntheticClasses.TriangleCategoryId => Triangle(),
            _ => PolygonGeometry.Star(5, _rng.Uniform(0.42, 0.55)),
        };
        double angle = categoryId == SyntheticClasses.SquareCategoryId && _rng.Chance(0.3) ? 0 : _rng.Uniform(0, 2 * Math.PI);
        double cx = _rng.Uniform(0, W), cy = _rng.Uniform(0, H);
        double scale = side / Math.Sqrt(PolygonGeometry.Area(unit));
        return FitToRange(range, side, scale, s =>
        {
            var polygon = PolygonGeometry.Place(unit, s, angle, cx, cy);
            return ([polygon], pixels => PaintTextured(pixels, side), null);
        });
    }

    private double[] Triangle()
    {
        var xy = new double[6];
        for (int i = 0; i < 3; i++)
        {
            double a = -Math.PI / 2 + 2 * Math.PI * i / 3 + _rng.Uniform(-0.15, 0.15), r = _rng.Uniform(0.9, 1.1);
            xy[2 * i] = r * Math.Cos(a);
            xy[2 * i + 1] = r * Math.Sin(a);
        }
        return xy;
    }

    private Candidate? PersonCandidate(AreaRange range)
    {
        double side = SampleSide(range, person: true);
        var pose = FigurePose.Random(_rng);
        double height = side / Math.Sqrt(PersonAreaPerHeight2);
        // Mostly in frame, sometimes cut at an edge (those keypoints get visibility 0).
        double hipX = _rng.Uniform(0.05, 0.95) * W;
        double top = H > 0.8 * height ? _rng.Uniform(-0.1 * height, H - 0.9 * height) : _rng.Uniform(H - height, 0);
        double hipY = top + 0.52 * height;
        var skin = _rng.Pick(SkinTones);
        return FitToRange(range, side, height, h =>
        {
            var figure = StickFigure.Build(pose, h, hipX, hipY);
            return (figure.Parts.Select(p => p.Polygon).ToArray(), pixels => PaintFigure(pixels, figure, skin), figure.Keypoints);
        });
    }

    private static readonly Rgb[] SkinTones = [new(241, 194, 160), new(224, 172, 125), new(198, 134, 90), new(141, 85, 54), new(92, 56, 38)];

    /// <summary>
    /// Rasterises the object at <paramref name="scale"/>; if the in-frame area misses the planned range
    /// (the frame cut it, or the area estimate was off), rescales towards the target area up to twice.
    /// </summary>
    private Candidate? FitToRange(AreaRange range, double side, double scale,
        Func<double, (IReadOnlyList<double[]> Polygons, Action<int[]> Paint, double[]? Keypoints)> build)
    {
        for (int iteration = 0; iteration < 3; iteration++)
        {
            var (polygons, paint, keypoints) = build(scale);
            var rle = Rle.FromPolygons(polygons, H, W);
            long area = rle.Area;
            if (area == 0) return null;
            if (AreaRanges.Classify(area) == range) return new Candidate(SceneCanvas.PixelsOf(rle), polygons, paint, keypoints);
            scale *= Math.Clamp(side / Math.Sqrt(area), 0.6, 1.6);
        }
        return null;
    }

    private bool OcclusionAllowed(int[] pixels)
    {
        if (_instances.Count == 0) return true;
        var covered = new long[_instances.Count];
        var owner = _canvas.Owner;
        foreach (var p in pixels) if (owner[p] >= 0) covered[owner[p]]++;
        for (int i = 0; i < covered.Length; i++)
        {
            if (covered[i] == 0) continue;
            var instance = _instances[i];
            long remaining = instance.VisibleArea - covered[i];
            if (remaining == 0) continue;  // fully hidden: allowed, dropped from the annotations
            if (remaining < _options.MinVisibleFraction * instance.FullArea) return false;
            if (instance.Range is { } range && AreaRanges.Classify(remaining) != range) return false;
        }
        return true;
    }

    private void Commit(Candidate candidate, int categoryId, bool isCrowd, AreaRange? range)
    {
        int index = _instances.Count;
        var owner = _canvas.Owner;
        foreach (var p in candidate.Pixels)
        {
            if (owner[p] >= 0) _instances[owner[p]].VisibleArea--;
            owner[p] = index;
        }
        _instances.Add(new PlacedInstance
        {
            CategoryId = categoryId,
            IsCrowd = isCrowd,
            Range = range,
            FullArea = candidate.Pixels.Length,
            VisibleArea = candidate.Pixels.Length,
            Polygons = isCrowd ? null : candidate.Polygons,
            Keypoints = candidate.Keypoints,
        });
        candidate.Paint(candidate.Pixels);
    }

    /// <summary>Mean colour of what is under <paramref name="pixels"/> now (colours are chosen against it).</summary>
    private Rgb MeanColour(int[] pixels)
    {
        long r = 0, g = 0, b = 0;
        var rgb = _canvas.Rgb;
        foreach (var p in pixels) { r += rgb[3 * p]; g += rgb[3 * p + 1]; b += rgb[3 * p + 2]; }
        int n = Math.Max(pixels.Length, 1);
        return new Rgb((byte)(r / n), (byte)(g / n), (byte)(b / n));
    }

    // Colours are drawn at paint time (after acceptance, in z-order), so the random stream stays deterministic.
    private void PaintTextured(int[] pixels, double side)
    {
        var texture = ThingTexture.Random(_rng, side, MeanColour(pixels));
        int token = _canvas.Mark(pixels);
        bool outlined = pixels.Length >= 100;
        var outline = texture.Outline;
        foreach (var p in pixels)
            _canvas.SetColour(p, outlined && _canvas.IsBorder(p, token) ? outline : texture.At(p % W, p / W));
    }

    private void PaintFigure(int[] pixels, StickFigure.Placed figure, Rgb skin)
    {
        var under = MeanColour(pixels);
        var shirt = Colours.BoldAgainst(_rng, under);
        var trousers = Colours.BoldAgainst(_rng, under);
        foreach (var part in figure.Parts)
        {
            var colour = part.Paint switch { FigurePaint.Shirt => shirt, FigurePaint.Trousers => trousers, _ => skin };
            foreach (var p in SceneCanvas.PixelsOf(Rle.FromPolygons([part.Polygon], H, W))) _canvas.SetColour(p, colour);
        }
        int token = _canvas.Mark(pixels);
        var outline = new Rgb(25, 25, 25);
        foreach (var p in pixels) if (_canvas.IsBorder(p, token)) _canvas.SetColour(p, outline);
        // Face features only on the figure's own pixels: they must not change its mask.
        foreach (var (x, y, r) in figure.Eyes)
            foreach (var p in _canvas.Disc(x, y, r)) if (_canvas.IsMarked(p, token)) _canvas.SetColour(p, outline);
        var (nx, ny, nr) = figure.Nose;
        foreach (var p in _canvas.Disc(nx, ny, nr)) if (_canvas.IsMarked(p, token)) _canvas.SetColour(p, new Rgb(190, 70, 60));
    }

    /// <summary>A swarm of tiny shapes of one class, annotated as one iscrowd region.</summary>
    private void PlaceCrowd()
    {
        int category = _rng.Pick(SyntheticClasses.ShapeCategoryIds);
        double radius = _rng.Uniform(0.1, 0.18) * Math.Min(W, H);
        double cx = _rng.Uniform(radius, W - radius), cy = _rng.Uniform(radius, H - radius);
        int count = _rng.Int(10, 24);
        var members = new List<(double[] Polygon, Rgb Colour)>(count);
        for (int i = 0; i < count; i++)
        {
            double a = _rng.Uniform(0, 2 * Math.PI), r = radius * Math.Sqrt(_rng.NextDouble());
            double[] unit = category switch
            {
                SyntheticClasses.CircleCategoryId => PolygonGeometry.Ellipse(1, 1, 12),
                SyntheticClasses.EllipseCategoryId => PolygonGeometry.Ellipse(1, 0.55, 12),
                SyntheticClasses.SquareCategoryId => [-1, -1, 1, -1, 1, 1, -1, 1],
                SyntheticClasses.TriangleCategoryId => Triangle(),
                _ => PolygonGeometry.Star(5, 0.5),
            };
            double side = _rng.Uniform(4, 8);
            var polygon = PolygonGeometry.Place(unit, side / Math.Sqrt(PolygonGeometry.Area(unit)), _rng.Uniform(0, 2 * Math.PI),
                cx + r * Math.Cos(a), cy + r * Math.Sin(a));
            members.Add((polygon, Colours.Bold(_rng)));
        }
        var union = Rle.FromPolygons(members.Select(m => m.Polygon).ToArray(), H, W);
        if (union.Area == 0) return;
        var candidate = new Candidate(SceneCanvas.PixelsOf(union), members.Select(m => m.Polygon).ToArray(), _ =>
        {
            foreach (var (polygon, colour) in members)
                foreach (var p in SceneCanvas.PixelsOf(Rle.FromPolygons([polygon], H, W))) _canvas.SetColour(p, colour);
        }, null);
        Commit(candidate, category, isCrowd: true, range: null);
    }

    private ComposedScene Finish()
    {
        int n = W * H;
        var owner = _canvas.Owner;
        var masks = new byte[_instances.Count][];
        var semantic = (byte[])_canvas.StuffLabels.Clone();
        for (int p = 0; p < n; p++)
        {
            int o = owner[p];
            if (o < 0) continue;
            (masks[o] ??= new byte[n])[p] = 1;
            semantic[p] = (byte)SyntheticClasses.SemanticLabelOfCategory(_instances[o].CategoryId);
        }

        var annotations = new List<SceneAnnotation>(_instances.Count);
        int hidden = 0;
        for (int i = 0; i < _instances.Count; i++)
        {
            var instance = _instances[i];
            if (masks[i] is null) { hidden++; continue; }
            var rle = Rle.Encode(BitMask.FromRowMajor(H, W, masks[i]));
            CocoSegmentation segmentation;
            if (instance.IsCrowd)
                segmentation = new CocoUncompressedRle(H, W, rle.Counts.ToArray());  // COCO stores crowd regions this way
            else if (rle.Area == instance.FullArea && instance.Polygons!.All(p => PolygonGeometry.InsideImage(p, W, H)))
                segmentation = new CocoPolygons(instance.Polygons!);  // unoccluded and uncut: the polygons are the mask
            else
                segmentation = CocoCompressedRle.FromRle(rle);
            double[]? keypoints = null;
            int? labelled = null;
            if (instance.Keypoints is { } xy) (keypoints, labelled) = KeypointTriplets(xy, i);
            annotations.Add(new SceneAnnotation(instance.CategoryId, instance.IsCrowd, segmentation, rle.ToBbox(), rle.Area, keypoints, labelled));
        }
        return new ComposedScene(W, H, _canvas.Rgb, semantic, annotations, hidden);
    }

    /// <summary>
    /// COCO (x, y, v) triplets: v = 0 (written as 0, 0, 0) outside the image, 1 where a later
    /// object covers the keypoint's pixel, 2 otherwise.
    /// </summary>
    private (double[] Triplets, int Labelled) KeypointTriplets(double[] xy, int index)
    {
        int k = xy.Length / 2, labelled = 0;
        var triplets = new double[3 * k];
        for (int j = 0; j < k; j++)
        {
            double x = xy[2 * j], y = xy[2 * j + 1];
            int px = (int)Math.Floor(x), py = (int)Math.Floor(y);
            if (px < 0 || py < 0 || px >= W || py >= H) continue;
            int owner = _canvas.Owner[py * W + px];
            triplets[3 * j] = x;
            triplets[3 * j + 1] = y;
            triplets[3 * j + 2] = owner > index ? 1 : 2;
            labelled++;
        }
        return (triplets, labelled);
    }
}
