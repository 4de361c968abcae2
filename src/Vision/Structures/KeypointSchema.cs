namespace MLNetSeg.Vision.Structures;

/// <summary>
/// What the K keypoints of an instance are: their names, the skeleton edges used for drawing, and
/// the left/right permutation applied when an image is flipped horizontally.
/// </summary>
public sealed class KeypointSchema
{
    private readonly string[] _names;
    private readonly (int From, int To)[] _skeleton;
    private readonly int[] _flipMap;

    /// <param name="names">Keypoint names, in channel order.</param>
    /// <param name="skeleton">Edges as 0-based keypoint indices (COCO files store them 1-based).</param>
    /// <param name="flipMap">
    /// For each keypoint, the index of the keypoint it becomes after a horizontal flip (left_eye ↔ right_eye);
    /// must be a permutation that is its own inverse.
    /// </param>
    public KeypointSchema(IReadOnlyList<string> names, IReadOnlyList<(int From, int To)> skeleton, IReadOnlyList<int> flipMap)
    {
        ArgumentNullException.ThrowIfNull(names);
        ArgumentNullException.ThrowIfNull(skeleton);
        ArgumentNullException.ThrowIfNull(flipMap);
        int k = names.Count;
        if (names.Distinct().Count() != k)
            throw new ArgumentException("Keypoint names must be distinct.", nameof(names));
        for (int e = 0; e < skeleton.Count; e++)
        {
            var (a, b) = skeleton[e];
            if ((uint)a >= (uint)k || (uint)b >= (uint)k)
                throw new ArgumentException($"skeleton[{e}] = ({a}, {b}) refers to a keypoint outside 0..{k - 1}.", nameof(skeleton));
        }
        if (flipMap.Count != k)
            throw new ArgumentException($"flipMap has {flipMap.Count} entries but there are {k} keypoints.", nameof(flipMap));
        for (int i = 0; i < k; i++)
        {
            int j = flipMap[i];
            if ((uint)j >= (uint)k || flipMap[j] != i)
                throw new ArgumentException($"flipMap[{i}] = {j} does not form a left/right pairing (it must be its own inverse).", nameof(flipMap));
        }
        _names = names.ToArray();
        _skeleton = skeleton.ToArray();
        _flipMap = flipMap.ToArray();
    }

    public IReadOnlyList<string> Names => _names;

    /// <summary>Skeleton edges, 0-based.</summary>
    public IReadOnlyList<(int From, int To)> Skeleton => _skeleton;

    /// <summary>Index each keypoint maps to under a horizontal flip.</summary>
    public IReadOnlyList<int> FlipMap => _flipMap;

    public int Count => _names.Length;

    /// <summary>Index of the keypoint called <paramref name="name"/>.</summary>
    public int IndexOf(string name)
    {
        int i = Array.IndexOf(_names, name);
        if (i < 0) throw new KeyNotFoundException($"No keypoint named '{name}'; known: {string.Join(", ", _names)}.");
        return i;
    }

    /// <summary>
    /// The 17 COCO person keypoints in the order of the COCO annotation files, the skeleton of
    /// the COCO "person" category (converted to 0-based), and the left/right flip map.
    /// </summary>
    public static KeypointSchema CocoPerson { get; } = CreateCocoPerson();

    private static KeypointSchema CreateCocoPerson()
    {
        string[] names =
        {
            "nose", "left_eye", "right_eye", "left_ear", "right_ear",
            "left_shoulder", "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
            "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
        };
        // person_keypoints_*.json, categories[0].skeleton (1-based):
        // [16,14],[14,12],[17,15],[15,13],[12,13],[6,12],[7,13],[6,7],[6,8],[7,9],[8,10],[9,11],[2,3],[1,2],[1,3],[2,4],[3,5],[4,6],[5,7]
        int[,] oneBased =
        {
            { 16, 14 }, { 14, 12 }, { 17, 15 }, { 15, 13 }, { 12, 13 }, { 6, 12 }, { 7, 13 }, { 6, 7 }, { 6, 8 }, { 7, 9 },
            { 8, 10 }, { 9, 11 }, { 2, 3 }, { 1, 2 }, { 1, 3 }, { 2, 4 }, { 3, 5 }, { 4, 6 }, { 5, 7 },
        };
        var skeleton = new (int, int)[oneBased.GetLength(0)];
        for (int e = 0; e < skeleton.Length; e++) skeleton[e] = (oneBased[e, 0] - 1, oneBased[e, 1] - 1);
        // Same permutation as torchvision's references/detection/transforms.py _flip_coco_person_keypoints.
        int[] flip = { 0, 2, 1, 4, 3, 6, 5, 8, 7, 10, 9, 12, 11, 14, 13, 16, 15 };
        return new KeypointSchema(names, skeleton, flip);
    }
}
