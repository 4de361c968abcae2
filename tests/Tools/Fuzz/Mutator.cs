using System.Text;

namespace MLNetSeg.Fuzz;

/// <summary>
/// A seeded, deterministic mutation engine in the spirit of AFL's havoc stage: each input is a seed
/// from the corpus with 1–8 stacked mutations (bit flips, interesting integers, truncation, chunk
/// deletion/duplication/insertion, splicing with another seed; for text formats also token
/// replacements; for PNGs, chunk CRCs repaired in half of the inputs). Not coverage-guided: the suite's smoke uses it for a bounded, reproducible run;
/// coverage-guided campaigns use AFL++ (tools/fuzz/campaign.sh).
/// </summary>
public sealed class Mutator
{
    private static readonly long[] InterestingIntegers =
        { 0, 1, -1, 0x7F, 0x80, 0xFF, 0x7FFF, 0x8000, 0xFFFF, int.MaxValue, int.MinValue, uint.MaxValue, long.MaxValue, long.MinValue };

    private static readonly string[] TextTokens =
    {
        "0", "-1", "1e308", "-1e308", "NaN", "1e-320", "4294967296", "9223372036854775808", "2147483648", "-2147483649",
        "null", "true", "[]", "{}", "\"\"", "\"x\"", "[[]]", "[0,0,0,0]", "[1e9,1e9,1e9,1e9]", ",", ":", "\\u0000", "\"\\ud800\"",
    };

    private readonly Random _random;
    private readonly IReadOnlyList<byte[]> _seeds;
    private readonly bool _text;

    /// <summary>A mutator over <paramref name="seeds"/> (at least one) drawing from <paramref name="seed"/>.</summary>
    public Mutator(IReadOnlyList<byte[]> seeds, bool text, int seed)
    {
        if (seeds.Count == 0) throw new ArgumentException("the corpus has no seed", nameof(seeds));
        _seeds = seeds;
        _text = text;
        _random = new Random(seed);
    }

    /// <summary>The next input.</summary>
    public byte[] Next()
    {
        var data = new List<byte>(_seeds[_random.Next(_seeds.Count)]);
        int count = 1 << _random.Next(4);
        for (int i = 0; i < count; i++) Mutate(data);
        var input = data.ToArray();
        // libpng rejects a chunk whose CRC is wrong before looking at its data, so almost every mutated
        // PNG would stop there: half of them get their CRCs recomputed, to reach the decoder behind it.
        if (_random.Next(2) == 0) RepairPngCrcs(input);
        return input;
    }

    /// <summary>Recomputes the CRC of every complete chunk of a PNG (after its 8-byte signature); not a PNG: no change.</summary>
    internal static void RepairPngCrcs(byte[] png)
    {
        if (png.Length < 8 || png[0] != 0x89 || png[1] != (byte)'P' || png[2] != (byte)'N' || png[3] != (byte)'G') return;
        long at = 8;
        while (at + 12 <= png.Length)
        {
            long length = System.Buffers.Binary.BinaryPrimitives.ReadUInt32BigEndian(png.AsSpan((int)at));
            if (at + 12 + length > png.Length) return;
            var typeAndData = png.AsSpan((int)at + 4, 4 + (int)length);
            System.Buffers.Binary.BinaryPrimitives.WriteUInt32BigEndian(png.AsSpan((int)(at + 8 + length)), MLNetSeg.Tests.Shared.PngBytes.Crc32(typeAndData));
            at += 12 + length;
        }
    }

    private void Mutate(List<byte> d)
    {
        int choice = _random.Next(_text ? 10 : 8);
        if (d.Count == 0 && choice < 7) choice = 7;
        switch (choice)
        {
            case 0: // flip one bit
                d[_random.Next(d.Count)] ^= (byte)(1 << _random.Next(8));
                break;
            case 1: // random byte
                d[_random.Next(d.Count)] = (byte)_random.Next(256);
                break;
            case 2: // interesting integer, 1/2/4/8 bytes, little or big endian
            {
                int width = 1 << _random.Next(4);
                int at = _random.Next(Math.Max(1, d.Count - width + 1));
                long value = InterestingIntegers[_random.Next(InterestingIntegers.Length)];
                bool big = _random.Next(2) == 0;
                for (int b = 0; b < width && at + b < d.Count; b++)
                    d[at + b] = (byte)(value >> (8 * (big ? width - 1 - b : b)));
                break;
            }
            case 3: // arithmetic on one byte
                d[_random.Next(d.Count)] += (byte)(_random.Next(-35, 36));
                break;
            case 4: // truncate
            {
                int keep = _random.Next(d.Count);
                d.RemoveRange(keep, d.Count - keep);
                break;
            }
            case 5: // delete a chunk
            {
                int at = _random.Next(d.Count);
                d.RemoveRange(at, Math.Min(d.Count - at, 1 + _random.Next(64)));
                break;
            }
            case 6: // duplicate a chunk elsewhere
            {
                int at = _random.Next(d.Count);
                var chunk = d.GetRange(at, Math.Min(d.Count - at, 1 + _random.Next(256)));
                d.InsertRange(_random.Next(d.Count + 1), chunk);
                break;
            }
            case 7: // insert random bytes, or splice with another seed
                if (_random.Next(2) == 0)
                {
                    var bytes = new byte[1 + _random.Next(32)];
                    _random.NextBytes(bytes);
                    d.InsertRange(_random.Next(d.Count + 1), bytes);
                }
                else
                {
                    var other = _seeds[_random.Next(_seeds.Count)];
                    int cut = _random.Next(d.Count + 1), from = _random.Next(other.Length + 1);
                    d.RemoveRange(cut, d.Count - cut);
                    d.AddRange(other.AsSpan(from).ToArray());
                }
                break;
            default: // text: replace a token (a number or a bracket) with another
                ReplaceToken(d);
                break;
        }
    }

    private void ReplaceToken(List<byte> d)
    {
        if (d.Count == 0) return;
        int at = _random.Next(d.Count);
        int end = at;
        while (end < d.Count && (char.IsAsciiDigit((char)d[end]) || d[end] is (byte)'.' or (byte)'-' or (byte)'e' or (byte)'E')) end++;
        int length = Math.Max(1, end - at);
        var token = Encoding.UTF8.GetBytes(TextTokens[_random.Next(TextTokens.Length)]);
        d.RemoveRange(at, Math.Min(length, d.Count - at));
        d.InsertRange(at, token);
    }
}
