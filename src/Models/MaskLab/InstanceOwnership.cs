namespace MLNetSeg.Models.MaskLab;

/// <summary>Which instance a pixel belongs to when masks overlap, for every per-pixel target of MaskLab
/// (semantic and direction): the covering instance of smallest area, ties to the later one (drawn on top);
/// -1 for pixels of no instance.</summary>
internal static class InstanceOwnership
{
    /// <summary>The owning instance of every pixel, row-major, from <paramref name="inside"/>: [n, height, width]
    /// masks, non-zero inside, row-major.</summary>
    public static int[] Owners(byte[] inside, int n, int height, int width)
    {
        long pixels = (long)height * width;
        var area = new long[n];
        for (int k = 0; k < n; k++)
            for (long p = 0; p < pixels; p++)
                if (inside[k * pixels + p] != 0) area[k]++;
        var owner = new int[pixels];
        Array.Fill(owner, -1);
        for (int k = 0; k < n; k++)
            for (long p = 0; p < pixels; p++)
                if (inside[k * pixels + p] != 0 && (owner[p] < 0 || area[owner[p]] >= area[k])) owner[p] = k;
        return owner;
    }
}
