namespace MLNetSeg.Onnx.Export;

/// <summary>Writes a file through a temporary file renamed into place, so a failed or interrupted write never
/// leaves a half-written model where a good one was.</summary>
internal static class AtomicFile
{
    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> (its folder created if missing); returns the full path.</summary>
    public static string WriteAllBytes(string path, byte[] bytes)
    {
        var full = Path.GetFullPath(path);
        var directory = Path.GetDirectoryName(full)!;
        Directory.CreateDirectory(directory);
        var temporary = Path.Combine(directory, $".{Path.GetFileName(full)}.{Environment.ProcessId}.tmp");
        try
        {
            File.WriteAllBytes(temporary, bytes);
            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            if (File.Exists(temporary)) File.Delete(temporary);
        }
        return full;
    }
}
