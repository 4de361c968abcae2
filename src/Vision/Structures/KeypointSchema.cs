using System.Text.RegularExpressions;

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

    /// <summary>Keypoint names, in channel order.</summary>
    public IReadOnlyList<string> Names => _names;

    /// <summary>Skeleton edges, 0-based.</summary>
    public IReadOnlyList<(int From, int To)> Skeleton => _skeleton;

    /// <summary>Index each keypoint maps to under a horizontal flip.</summary>
    public IReadOnlyList<int> FlipMap => _flipMap;

    /// <summary>K, the number of keypoints.</summary>
    public int Count => _names.Length;

    /// <summary>Index of the keypoint called <paramref name="name"/>.</summary>
    public int IndexOf(string name)
    {
        int i = Array.IndexOf(_names, name);
        if (i < 0) throw new KeyNotFoundException($"No keypoint named '{name}'; known: {string.Join(", ", _names)}.");
        return i;
    }

    /// <summary>The number of keypoints and their names.</summary>
    public override string ToString() => $"KeypointSchema ({Count} keypoints: {string.Join(", ", _names)})";

    /// <summary>
    /// A schema whose flip map is derived from the names (see <see cref="FlipMapFromNames"/>).
    /// </summary>
    /// <param name="names">Keypoint names, in channel order.</param>
    /// <param name="skeleton">Edges as 0-based keypoint indices; null for none.</param>
    public static KeypointSchema FromNames(IReadOnlyList<string> names, IReadOnlyList<(int From, int To)>? skeleton = null)
    {
        ArgumentNullException.ThrowIfNull(names);
        return new KeypointSchema(names, skeleton ?? [], FlipMapFromNames(names));
    }

    /// <summary>
    /// The left/right flip map that the keypoint names imply: a name is paired with the name that
    /// has "left" and "right" swapped anywhere in it (left_eye ↔ right_eye, LeftHand ↔ RightHand,
    /// hip_left ↔ hip_right) or a standalone "l"/"r" token swapped (l_knee ↔ r_knee, knee.L ↔ knee.R;
    /// tokens are separated by anything but letters and digits), compared case-insensitively.
    /// A name without such a partner (nose, or "cleft" when there is no "cright") maps to itself.
    /// For the 17 COCO person names this is <see cref="CocoPerson"/>'s flip map.
    /// </summary>
    /// <exception cref="ArgumentException">A partner name matches several keypoints (names that differ only in case).</exception>
    public static int[] FlipMapFromNames(IReadOnlyList<string> names)
    {
        ArgumentNullException.ThrowIfNull(names);
        int k = names.Count;
        var byLowerName = new Dictionary<string, int>(k, StringComparer.Ordinal);
        var ambiguous = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < k; i++)
        {
            if (names[i] is null) throw new ArgumentException($"names[{i}] is null.", nameof(names));
            if (!byLowerName.TryAdd(names[i].ToLowerInvariant(), i)) ambiguous.Add(names[i].ToLowerInvariant());
        }
        var map = new int[k];
        Array.Fill(map, -1);
        for (int i = 0; i < k; i++)
        {
            if (map[i] >= 0) continue;
            map[i] = i;
            string lower = names[i].ToLowerInvariant();
            string mirrored = MirrorName(lower);
            if (mirrored == lower || !byLowerName.TryGetValue(mirrored, out int j)) continue;
            if (ambiguous.Contains(mirrored))
                throw new ArgumentException(
                    $"The mirror of keypoint '{names[i]}' is '{mirrored}', which several keypoint names match when case is ignored; give the flip map explicitly.",
                    nameof(names));
            // Pair only mutual partners that are still free, so the map is always its own inverse.
            if (map[j] < 0 && MirrorName(names[j].ToLowerInvariant()) == lower)
            {
                map[i] = j;
                map[j] = i;
            }
        }
        return map;
    }

    // "left" ↔ "right" anywhere, and a standalone "l" ↔ "r" token (lowercase input).
    private static readonly Regex SideWord = new("left|right|(?<![a-z0-9])[lr](?![a-z0-9])", RegexOptions.CultureInvariant);

    private static string MirrorName(string lower) =>
        SideWord.Replace(lower, m => m.Value switch { "left" => "right", "right" => "left", "l" => "r", _ => "l" });

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
