namespace MLNetSeg.Vision.Structures;

/// <summary>Helpers over lists of per-instance masks of one image.</summary>
public static class BitMasks
{
    /// <summary>Encodes each mask as COCO RLE (what <see cref="Instances.Masks"/> holds).</summary>
    public static Rle[] Encode(IReadOnlyList<BitMask> masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        CheckSameSize(masks);
        return masks.Select(Rle.Encode).ToArray();
    }

    /// <summary>Decodes each RLE to a bitmap.</summary>
    public static BitMask[] Decode(IReadOnlyList<Rle> rles)
    {
        ArgumentNullException.ThrowIfNull(rles);
        return rles.Select((r, i) => (r ?? throw new ArgumentException($"rles[{i}] is null.", nameof(rles))).Decode()).ToArray();
    }

    /// <summary>The tight box of each mask (see <see cref="BitMask.ToBox"/>; empty masks give a zero box).</summary>
    public static Boxes ToBoxes(IReadOnlyList<BitMask> masks)
    {
        ArgumentNullException.ThrowIfNull(masks);
        var xyxy = new float[masks.Count * 4];
        for (int i = 0; i < masks.Count; i++)
            (masks[i] ?? throw new ArgumentException($"masks[{i}] is null.", nameof(masks))).ToBox().CopyTo(xyxy, i * 4);
        return Boxes.FromXyxy(xyxy);
    }

    /// <summary>The tight box of each RLE as corners, from maskApi's <c>rleToBbox</c> without decoding.</summary>
    public static Boxes ToBoxes(IReadOnlyList<Rle> rles)
    {
        ArgumentNullException.ThrowIfNull(rles);
        var xyxy = new float[rles.Count * 4];
        for (int i = 0; i < rles.Count; i++)
        {
            var b = (rles[i] ?? throw new ArgumentException($"rles[{i}] is null.", nameof(rles))).ToBbox();
            xyxy[4 * i] = (float)b[0];
            xyxy[4 * i + 1] = (float)b[1];
            xyxy[4 * i + 2] = (float)(b[0] + b[2]);
            xyxy[4 * i + 3] = (float)(b[1] + b[3]);
        }
        return Boxes.FromXyxy(xyxy);
    }

    private static void CheckSameSize(IReadOnlyList<BitMask> masks)
    {
        for (int i = 0; i < masks.Count; i++)
        {
            var m = masks[i] ?? throw new ArgumentException($"masks[{i}] is null.", nameof(masks));
            if (m.Height != masks[0].Height || m.Width != masks[0].Width)
                throw new ArgumentException(
                    $"masks[{i}] is {m.Height}x{m.Width} but masks[0] is {masks[0].Height}x{masks[0].Width}; one image's masks share its size.",
                    nameof(masks));
        }
    }
}
