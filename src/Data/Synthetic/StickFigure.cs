namespace MLNetSeg.Data.Synthetic;

/// <summary>Which colour of a figure a body part takes.</summary>
internal enum FigurePaint { Trousers, Shirt, Skin }

/// <summary>One filled polygon of a figure and the colour it takes.</summary>
internal sealed record FigurePart(double[] Polygon, FigurePaint Paint);

/// <summary>
/// Joint angles of a stick figure. Limb angles are measured from straight down, turning
/// <em>outwards</em> (away from the body's midline), and are kept in 0°…180° for arms and near
/// that range for legs, so a left limb never crosses to the right of the midline.
/// </summary>
internal sealed record FigurePose(
    double LeftUpperArm, double LeftForearm, double RightUpperArm, double RightForearm,
    double LeftThigh, double LeftShin, double RightThigh, double RightShin,
    double Lean, bool ShortSleeves)
{
    public static FigurePose Random(SceneRandom rng)
    {
        static double Deg(double d) => d * Math.PI / 180;
        double upperL = rng.Uniform(15, 160), upperR = rng.Uniform(15, 160);
        double thighL = rng.Uniform(0, 30), thighR = rng.Uniform(0, 30);
        return new FigurePose(
            Deg(upperL), Deg(Math.Clamp(upperL + rng.Uniform(-60, 60), 5, 175)),
            Deg(upperR), Deg(Math.Clamp(upperR + rng.Uniform(-60, 60), 5, 175)),
            Deg(thighL), Deg(Math.Clamp(thighL + rng.Uniform(-20, 15), -5, 40)),
            Deg(thighR), Deg(Math.Clamp(thighR + rng.Uniform(-20, 15), -5, 40)),
            Deg(rng.Uniform(-15, 15)), rng.Chance(0.5));
    }
}

/// <summary>
/// Geometry of an articulated stick-figure person that faces the camera: a head ellipse, neck,
/// trapezoid torso, and arms and legs as round-ended thick lines, plus its 17 COCO keypoints.
/// </summary>
/// <remarks>
/// <para><b>Left/right convention (COCO's):</b> "left" is the person's own left. Every figure faces
/// the camera, so its left side appears on the <em>image's right</em>: before the lean, every
/// left_* keypoint has a larger x than the matching right_* keypoint, and after the lean (at most
/// ±15°) every left_* keypoint lies on the image-right side of the torso axis (hip centre →
/// shoulder centre). A horizontal flip with <c>KeypointSchema.CocoPerson.FlipMap</c> maps such a
/// figure onto one that obeys the same convention.</para>
/// <para>Body frame: origin at the hip centre, x to the image right, y down, lengths in units of the
/// figure's height (head top at y = −0.52, straight-leg ankles at y ≈ +0.47).</para>
/// </remarks>
internal static class StickFigure
{
    // Proportions in units of figure height.
    private const double HeadY = -0.435, HeadRx = 0.07, HeadRy = 0.085;
    private const double ShoulderY = -0.29, ShoulderX = 0.12, HipX = 0.075;
    private const double UpperArm = 0.16, Forearm = 0.15, ArmRadius = 0.036;
    private const double Thigh = 0.24, Shin = 0.23, LegRadius = 0.046;
    private const double MinLimbRadiusPixels = 1.3;  // keeps limbs of small figures at least ~2.6 px thick

    /// <summary>Everything a placed figure consists of, in image coordinates.</summary>
    public sealed record Placed(IReadOnlyList<FigurePart> Parts, double[] Keypoints, (double X, double Y, double Radius)[] Eyes, (double X, double Y, double Radius) Nose);

    /// <summary>Builds the figure of height <paramref name="height"/> px with its hip centre at (hipX, hipY).</summary>
    public static Placed Build(FigurePose pose, double height, double hipX, double hipY)
    {
        double cos = Math.Cos(pose.Lean), sin = Math.Sin(pose.Lean);
        (double X, double Y) ToImage(double bx, double by) =>
            (hipX + height * (cos * bx - sin * by), hipY + height * (sin * bx + cos * by));

        double armRadius = Math.Max(ArmRadius * height, MinLimbRadiusPixels);
        double legRadius = Math.Max(LegRadius * height, MinLimbRadiusPixels * 1.2);
        int cap = Math.Clamp((int)Math.Ceiling(legRadius), 3, 8);

        // Joints in the body frame; side +1 is the person's left (image right).
        (double, double) Limb(double side, double startX, double startY, double angle, double length) =>
            (startX + side * length * Math.Sin(angle), startY + length * Math.Cos(angle));
        var lShoulder = (ShoulderX, ShoulderY);
        var rShoulder = (-ShoulderX, ShoulderY);
        var lElbow = Limb(1, ShoulderX, ShoulderY, pose.LeftUpperArm, UpperArm);
        var rElbow = Limb(-1, -ShoulderX, ShoulderY, pose.RightUpperArm, UpperArm);
        var lWrist = Limb(1, lElbow.Item1, lElbow.Item2, pose.LeftForearm, Forearm);
        var rWrist = Limb(-1, rElbow.Item1, rElbow.Item2, pose.RightForearm, Forearm);
        var lHip = (HipX, 0.0);
        var rHip = (-HipX, 0.0);
        var lKnee = Limb(1, HipX, 0, pose.LeftThigh, Thigh);
        var rKnee = Limb(-1, -HipX, 0, pose.RightThigh, Thigh);
        var lAnkle = Limb(1, lKnee.Item1, lKnee.Item2, pose.LeftShin, Shin);
        var rAnkle = Limb(-1, rKnee.Item1, rKnee.Item2, pose.RightShin, Shin);
        var nose = (0.0, HeadY + 0.015);
        var lEye = (0.03, HeadY - 0.015);
        var rEye = (-0.03, HeadY - 0.015);
        var lEar = (0.06, HeadY - 0.005);
        var rEar = (-0.06, HeadY - 0.005);

        double[] Capsule((double, double) a, (double, double) b, double radius)
        {
            var (ax, ay) = ToImage(a.Item1, a.Item2);
            var (bx, by) = ToImage(b.Item1, b.Item2);
            return PolygonGeometry.Capsule(ax, ay, bx, by, radius, cap);
        }

        double[] BodyPolygon(params (double X, double Y)[] points)
        {
            var xy = new double[2 * points.Length];
            for (int i = 0; i < points.Length; i++)
            {
                var (x, y) = ToImage(points[i].X, points[i].Y);
                xy[2 * i] = PolygonGeometry.Round(x);
                xy[2 * i + 1] = PolygonGeometry.Round(y);
            }
            return xy;
        }

        var headCentre = ToImage(0, HeadY);
        var head = PolygonGeometry.Place(
            PolygonGeometry.Ellipse(HeadRx, HeadRy, PolygonGeometry.CurvePoints(HeadRy * height)), height, pose.Lean, headCentre.X, headCentre.Y);
        var forearmPaint = pose.ShortSleeves ? FigurePaint.Skin : FigurePaint.Shirt;
        var parts = new List<FigurePart>
        {
            // Back to front: legs, neck (its lower end hidden by the shirt), torso, arms, head.
            new(Capsule(lHip, lKnee, legRadius), FigurePaint.Trousers),
            new(Capsule(lKnee, lAnkle, legRadius), FigurePaint.Trousers),
            new(Capsule(rHip, rKnee, legRadius), FigurePaint.Trousers),
            new(Capsule(rKnee, rAnkle, legRadius), FigurePaint.Trousers),
            new(Capsule((0, HeadY + 0.06), (0, ShoulderY), Math.Max(0.035 * height, MinLimbRadiusPixels)), FigurePaint.Skin),
            new(BodyPolygon((-0.15, -0.325), (0.15, -0.325), (0.115, 0.03), (-0.115, 0.03)), FigurePaint.Shirt),
            new(Capsule(lShoulder, lElbow, armRadius), FigurePaint.Shirt),
            new(Capsule(rShoulder, rElbow, armRadius), FigurePaint.Shirt),
            new(Capsule(lElbow, lWrist, armRadius), forearmPaint),
            new(Capsule(rElbow, rWrist, armRadius), forearmPaint),
            new(head, FigurePaint.Skin),
        };

        // COCO keypoint order (KeypointSchema.CocoPerson).
        (double, double)[] joints =
        [
            nose, lEye, rEye, lEar, rEar, lShoulder, rShoulder, lElbow, rElbow, lWrist, rWrist,
            lHip, rHip, lKnee, rKnee, lAnkle, rAnkle,
        ];
        var keypoints = new double[2 * joints.Length];
        for (int k = 0; k < joints.Length; k++)
        {
            var (x, y) = ToImage(joints[k].Item1, joints[k].Item2);
            keypoints[2 * k] = PolygonGeometry.Round(x);
            keypoints[2 * k + 1] = PolygonGeometry.Round(y);
        }
        double eyeRadius = Math.Max(0.6, 0.012 * height);
        return new Placed(parts, keypoints,
            [(keypoints[2], keypoints[3], eyeRadius), (keypoints[4], keypoints[5], eyeRadius)],
            (keypoints[0], keypoints[1], eyeRadius * 0.8));
    }
}
