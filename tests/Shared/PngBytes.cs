using System.Buffers.Binary;
using System.Text;

namespace MLNetSeg.Tests.Shared;

/// <summary>Hand-made PNG files for decoder tests (a header that claims any size, with no pixel data behind it),
/// and the chunk CRC the fuzz mutator repairs.</summary>
internal static class PngBytes
{
    /// <summary>Signature, IHDR (8-bit RGB, <paramref name="width"/> × <paramref name="height"/>), an empty IDAT
    /// and IEND, all with valid CRCs: a decoder gets past the header and finds no pixels.</summary>
    public static byte[] HeaderOnly(int width, int height)
    {
        var ihdr = new byte[13];
        BinaryPrimitives.WriteInt32BigEndian(ihdr, width);
        BinaryPrimitives.WriteInt32BigEndian(ihdr.AsSpan(4), height);
        ihdr[8] = 8; // bit depth
        ihdr[9] = 2; // RGB
        return [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A, .. Chunk("IHDR", ihdr), .. Chunk("IDAT", [0x78, 0x9C, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01]), .. Chunk("IEND", [])];
    }

    private static byte[] Chunk(string type, byte[] data)
    {
        var chunk = new byte[12 + data.Length];
        BinaryPrimitives.WriteInt32BigEndian(chunk, data.Length);
        Encoding.ASCII.GetBytes(type).CopyTo(chunk, 4);
        data.CopyTo(chunk, 8);
        BinaryPrimitives.WriteUInt32BigEndian(chunk.AsSpan(8 + data.Length), Crc32(chunk.AsSpan(4, 4 + data.Length)));
        return chunk;
    }

    /// <summary>The CRC-32 a PNG chunk ends with, of its type and data (PNG spec, ISO 3309).</summary>
    public static uint Crc32(ReadOnlySpan<byte> typeAndData)
    {
        uint crc = 0xFFFFFFFF;
        foreach (byte b in typeAndData)
        {
            crc ^= b;
            for (int k = 0; k < 8; k++) crc = (crc & 1) != 0 ? 0xEDB88320 ^ (crc >> 1) : crc >> 1;
        }
        return ~crc;
    }
}
