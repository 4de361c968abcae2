namespace MLNetSeg.Vision.Imaging;

/// <summary>
/// Drawing primitives that write into an RGB or RGBA <see cref="Image"/> in place (alpha channels
/// are left as they are). Everything is clipped to the image; coordinates are pixel indices
/// (x = column, y = row) unless stated otherwise.
/// </summary>
public static class Painter
{
    /// <summary>
    /// Outlines a box given in continuous XYXY coordinates (torchvision/detectron2 boxes): the
    /// box covers pixel columns floor(x1) … ceil(x2) − 1 and rows floor(y1) … ceil(y2) − 1, and
    /// the outline is <paramref name="thickness"/> pixels wide, drawn inward from that border.
    /// </summary>
    public static void DrawBox(Image image, double x1, double y1, double x2, double y2, Rgb colour, int thickness = 2)
    {
        RequireColour(image);
        if (thickness < 1) throw new ArgumentOutOfRangeException(nameof(thickness), $"thickness must be at least 1, got {thickness}");
        if (!(double.IsFinite(x1) && double.IsFinite(y1) && double.IsFinite(x2) && double.IsFinite(y2)))
            throw new ArgumentException($"box ({x1}, {y1}, {x2}, {y2}) has a non-finite coordinate");
        int left = ClampToInt(Math.Floor(x1)), top = ClampToInt(Math.Floor(y1));
        int right = ClampToInt(Math.Ceiling(x2)) - 1, bottom = ClampToInt(Math.Ceiling(y2)) - 1;
        if (right < left || bottom < top) return;
        int t = thickness - 1;
        FillRectangle(image, left, top, right, Math.Min(top + t, bottom), colour);         // top edge
        FillRectangle(image, left, Math.Max(bottom - t, top), right, bottom, colour);      // bottom edge
        FillRectangle(image, left, top, Math.Min(left + t, right), bottom, colour);        // left edge
        FillRectangle(image, Math.Max(right - t, left), top, right, bottom, colour);       // right edge
    }

    /// <summary>Sets every pixel with left ≤ x ≤ right and top ≤ y ≤ bottom (inclusive) to <paramref name="colour"/>.</summary>
    public static void FillRectangle(Image image, int left, int top, int right, int bottom, Rgb colour)
    {
        RequireColour(image);
        left = Math.Max(left, 0); top = Math.Max(top, 0);
        right = Math.Min(right, image.Width - 1); bottom = Math.Min(bottom, image.Height - 1);
        for (int y = top; y <= bottom; y++)
            for (int x = left; x <= right; x++)
                Set(image, x, y, colour);
    }

    /// <summary>
    /// Alpha-blends <paramref name="colour"/> over the pixels where <paramref name="mask"/> is
    /// non-zero: out = round((1 − α)·pixel + α·colour), rounding half away from zero. Pixels
    /// outside the mask are untouched. <paramref name="mask"/> is row-major, image-sized.
    /// </summary>
    public static void BlendMask(Image image, ReadOnlySpan<byte> mask, Rgb colour, double alpha)
    {
        RequireColour(image);
        if (mask.Length != image.Height * image.Width)
            throw new ArgumentException($"mask has {mask.Length} pixels, the image {image.Height}x{image.Width} has {image.Height * image.Width}", nameof(mask));
        if (!(alpha >= 0 && alpha <= 1)) throw new ArgumentOutOfRangeException(nameof(alpha), $"alpha must be in [0, 1], got {alpha}");
        var p = image.Pixels;
        int c = image.Channels;
        for (int i = 0; i < mask.Length; i++)
        {
            if (mask[i] == 0) continue;
            int o = i * c;
            p[o] = Blend(p[o], colour.R, alpha);
            p[o + 1] = Blend(p[o + 1], colour.G, alpha);
            p[o + 2] = Blend(p[o + 2], colour.B, alpha);
        }
    }

    /// <summary>One channel of the alpha blend used by <see cref="BlendMask"/>.</summary>
    public static byte Blend(byte under, byte over, double alpha) =>
        (byte)Math.Round((1 - alpha) * under + alpha * over, MidpointRounding.AwayFromZero);

    /// <summary>A straight line from (x0, y0) to (x1, y1), both ends included (Bresenham), drawn
    /// with a square pen <paramref name="thickness"/> pixels wide centred on the line.</summary>
    public static void DrawLine(Image image, int x0, int y0, int x1, int y1, Rgb colour, int thickness = 1)
    {
        RequireColour(image);
        if (thickness < 1) throw new ArgumentOutOfRangeException(nameof(thickness), $"thickness must be at least 1, got {thickness}");
        int lo = -(thickness - 1) / 2, hi = thickness / 2;
        int dx = Math.Abs(x1 - x0), dy = -Math.Abs(y1 - y0);
        int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
        int err = dx + dy;
        while (true)
        {
            FillRectangle(image, x0 + lo, y0 + lo, x0 + hi, y0 + hi, colour);
            if (x0 == x1 && y0 == y1) break;
            int e2 = 2 * err;
            if (e2 >= dy) { err += dy; x0 += sx; }
            if (e2 <= dx) { err += dx; y0 += sy; }
        }
    }

    /// <summary>A filled disc: every pixel whose centre lies within <paramref name="radius"/> of (cx, cy).</summary>
    public static void FillCircle(Image image, double cx, double cy, double radius, Rgb colour)
    {
        RequireColour(image);
        if (!(radius >= 0)) throw new ArgumentOutOfRangeException(nameof(radius), $"radius must be non-negative, got {radius}");
        int x0 = ClampToInt(Math.Floor(cx - radius)), x1 = ClampToInt(Math.Ceiling(cx + radius));
        int y0 = ClampToInt(Math.Floor(cy - radius)), y1 = ClampToInt(Math.Ceiling(cy + radius));
        double r2 = radius * radius;
        for (int y = Math.Max(y0, 0); y <= Math.Min(y1, image.Height - 1); y++)
            for (int x = Math.Max(x0, 0); x <= Math.Min(x1, image.Width - 1); x++)
            {
                double ddx = x - cx, ddy = y - cy;
                if (ddx * ddx + ddy * ddy <= r2) Set(image, x, y, colour);
            }
    }

    /// <summary>Writes <paramref name="text"/> with the built-in 5×7 <see cref="BitmapFont"/>, its
    /// top-left corner at (x, y), each font pixel a <paramref name="scale"/>² square. With a
    /// <paramref name="background"/> the text's bounding box is filled first, one pixel of margin around it.</summary>
    public static void DrawText(Image image, int x, int y, string text, Rgb colour, int scale = 1, Rgb? background = null)
    {
        RequireColour(image);
        ArgumentNullException.ThrowIfNull(text);
        if (scale < 1) throw new ArgumentOutOfRangeException(nameof(scale), $"scale must be at least 1, got {scale}");
        if (background is { } bg)
        {
            var (w, h) = BitmapFont.Measure(text, scale);
            FillRectangle(image, x - 1, y - 1, x + w, y + h, bg);
        }
        for (int i = 0; i < text.Length; i++)
        {
            int gx = x + i * BitmapFont.Advance * scale;
            for (int row = 0; row < BitmapFont.GlyphHeight; row++)
                for (int col = 0; col < BitmapFont.GlyphWidth; col++)
                    if (BitmapFont.IsSet(text[i], row, col))
                        FillRectangle(image, gx + col * scale, y + row * scale, gx + (col + 1) * scale - 1, y + (row + 1) * scale - 1, colour);
        }
    }

    private static void Set(Image image, int x, int y, Rgb colour)
    {
        var px = image.Pixel(y, x);
        px[0] = colour.R; px[1] = colour.G; px[2] = colour.B;
    }

    private static int ClampToInt(double v) => (int)Math.Clamp(v, int.MinValue / 2, int.MaxValue / 2);

    private static void RequireColour(Image image)
    {
        ArgumentNullException.ThrowIfNull(image);
        if (image.Channels < 3)
            throw new ArgumentException($"drawing needs an RGB or RGBA image, this one has {image.Channels} channel(s); convert it with ToRgb() first", nameof(image));
    }
}
