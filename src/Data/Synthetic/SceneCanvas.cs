using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Data.Synthetic;

/// <summary>
/// The buffers of one image being composed: RGB pixels, the stuff label under every pixel, and
/// which instance (by z-order index, −1 for none) owns every pixel. Objects are painted back to
/// front, so a pixel's owner is always the top-most object there, and its visible mask is simply
/// the set of pixels it owns.
/// </summary>
internal sealed class SceneCanvas
{
    private readonly int[] _stamp;
    private int _token;

    public SceneCanvas(int width, int height)
    {
        Width = width;
        Height = height;
        Rgb = new byte[width * height * 3];
        StuffLabels = new byte[width * height];
        Owner = new int[width * height];
        Array.Fill(Owner, -1);
        _stamp = new int[width * height];
    }

    public int Width { get; }
    public int Height { get; }
    public byte[] Rgb { get; }
    public byte[] StuffLabels { get; }
    public int[] Owner { get; }

    public void SetColour(int pixel, Rgb colour)
    {
        int o = pixel * 3;
        Rgb[o] = colour.R;
        Rgb[o + 1] = colour.G;
        Rgb[o + 2] = colour.B;
    }

    /// <summary>The row-major indices of an RLE's set pixels (RLE runs are column-major).</summary>
    public static int[] PixelsOf(Rle rle)
    {
        int h = rle.Height, w = rle.Width;
        var pixels = new int[rle.Area];
        int n = 0;
        long q = 0;
        var counts = rle.Counts;
        for (int j = 0; j < counts.Count; j++)
        {
            long run = counts[j];
            if ((j & 1) == 1)
            {
                for (long k = q; k < q + run; k++)
                {
                    int x = (int)(k / h), y = (int)(k % h);
                    pixels[n++] = y * w + x;
                }
            }
            q += run;
        }
        return pixels;
    }

    /// <summary>Marks a pixel set so that <see cref="IsMarked"/> and <see cref="IsBorder"/> can test membership in O(1).</summary>
    public int Mark(int[] pixels)
    {
        int token = ++_token;
        foreach (var p in pixels) _stamp[p] = token;
        return token;
    }

    public bool IsMarked(int pixel, int token) => _stamp[pixel] == token;

    /// <summary>
    /// True when a 4-neighbour inside the image lies outside the marked set. Neighbours beyond the
    /// image border don't count: an object cut by the frame has no drawn edge there.
    /// </summary>
    public bool IsBorder(int pixel, int token)
    {
        int x = pixel % Width, y = pixel / Width;
        return (x > 0 && _stamp[pixel - 1] != token)
            || (x < Width - 1 && _stamp[pixel + 1] != token)
            || (y > 0 && _stamp[pixel - Width] != token)
            || (y < Height - 1 && _stamp[pixel + Width] != token);
    }

    /// <summary>The pixels whose centres lie within <paramref name="radius"/> of (cx, cy), clipped to the image.</summary>
    public IEnumerable<int> Disc(double cx, double cy, double radius)
    {
        int x0 = Math.Max(0, (int)Math.Floor(cx - radius)), x1 = Math.Min(Width - 1, (int)Math.Ceiling(cx + radius));
        int y0 = Math.Max(0, (int)Math.Floor(cy - radius)), y1 = Math.Min(Height - 1, (int)Math.Ceiling(cy + radius));
        double r2 = radius * radius;
        for (int y = y0; y <= y1; y++)
            for (int x = x0; x <= x1; x++)
            {
                double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
                if (dx * dx + dy * dy <= r2) yield return y * Width + x;
            }
    }
}
