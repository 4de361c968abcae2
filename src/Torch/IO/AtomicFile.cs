using System.Globalization;
using System.Text;

namespace MLNetSeg.Torch.IO;

/// <summary>
/// The one way MLNetSeg writes a file that must never be seen half-written (checkpoints, model files,
/// ONNX graphs, COCO json, images, metrics.jsonl when it is rewritten): the data go to a hidden
/// temporary file next to the target, <c>.{name}.{pid}.{guid}.tmp</c>, are flushed to disk (fsync),
/// and the temporary file is renamed over the target only when complete. A reader, or a process
/// resuming after a crash or a <c>kill -9</c>, therefore sees the previous complete file or the new
/// complete file, never a part. On any failure the temporary file is deleted and the target is untouched.
/// </summary>
/// <remarks>
/// A process killed mid-write cannot delete its temporary file; the name carries the writer's process
/// id so that a later run can tell a stale one from a live writer's (<see cref="TryParseTemporaryName"/>,
/// used by the trainer's clean-up of its checkpoint folder).
/// <para>
/// Errors: an <see cref="IOException"/> (disk full, a read-only file system, a directory in the
/// target's place, ...) is rethrown as an <see cref="IOException"/> — a
/// <see cref="DirectoryNotFoundException"/> when the folder is missing — and an
/// <see cref="UnauthorizedAccessException"/> as one, each with a message naming the target file and
/// the cause ("cannot write /out/model.mlseg: No space left on device : ...") and the original as
/// <see cref="Exception.InnerException"/>. Any other exception (thrown by the caller's writer) passes
/// through unchanged, after the temporary file is removed.
/// </para>
/// </remarks>
public static class AtomicFile
{
    private const string TemporaryExtension = ".tmp";

    /// <summary>
    /// Writes the file at <paramref name="path"/> atomically with <paramref name="write"/>, which
    /// writes the whole content to the stream it is given (see the class remarks).
    /// </summary>
    /// <param name="path">The target file; replaced when it exists.</param>
    /// <param name="write">Writes the content; the stream is flushed to disk and closed after it returns.</param>
    /// <param name="createDirectory">Create the target's folder when missing; otherwise a missing folder
    /// is a <see cref="DirectoryNotFoundException"/>.</param>
    /// <exception cref="IOException">The write or the rename failed; the message names <paramref name="path"/> and the cause.</exception>
    /// <exception cref="UnauthorizedAccessException">The folder may not be written.</exception>
    public static void Write(string path, Action<Stream> write, bool createDirectory = false)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        ArgumentNullException.ThrowIfNull(write);
        var full = Path.GetFullPath(path);
        var temporary = TemporaryPath(full);
        try
        {
            if (createDirectory) Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16))
            {
                write(stream);
                // fsync before the rename: after a power loss the new name must not point at missing data.
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, full, overwrite: true);
        }
        catch (Exception e)
        {
            try { File.Delete(temporary); }
            catch (Exception cleanup) when (cleanup is IOException or UnauthorizedAccessException) { /* the original error matters */ }
            var message = $"cannot write {full}: {e.Message}";
            switch (e)
            {
                case DirectoryNotFoundException: throw new DirectoryNotFoundException(message, e);
                case IOException: throw new IOException(message, e);
                case UnauthorizedAccessException: throw new UnauthorizedAccessException(message, e);
                default: throw;
            }
        }
    }

    /// <summary>Writes <paramref name="bytes"/> to <paramref name="path"/> atomically (see <see cref="Write"/>).</summary>
    /// <param name="path">The target file; replaced when it exists.</param>
    /// <param name="bytes">The whole content.</param>
    /// <param name="createDirectory">Create the target's folder when missing.</param>
    public static void WriteAllBytes(string path, byte[] bytes, bool createDirectory = false)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        Write(path, stream => stream.Write(bytes), createDirectory);
    }

    /// <summary>Writes <paramref name="text"/> as UTF-8 without a byte-order mark to <paramref name="path"/> atomically (see <see cref="Write"/>).</summary>
    /// <param name="path">The target file; replaced when it exists.</param>
    /// <param name="text">The whole content.</param>
    /// <param name="createDirectory">Create the target's folder when missing.</param>
    public static void WriteAllText(string path, string text, bool createDirectory = false)
    {
        ArgumentNullException.ThrowIfNull(text);
        WriteAllBytes(path, new UTF8Encoding(false).GetBytes(text), createDirectory);
    }

    /// <summary>A fresh temporary file name for <paramref name="path"/>: <c>.{name}.{pid}.{guid}.tmp</c> in the same folder.</summary>
    /// <param name="path">The target file.</param>
    public static string TemporaryPath(string path)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        var full = Path.GetFullPath(path);
        return Path.Combine(Path.GetDirectoryName(full)!,
            $".{Path.GetFileName(full)}.{Environment.ProcessId.ToString(CultureInfo.InvariantCulture)}.{Guid.NewGuid():N}{TemporaryExtension}");
    }

    /// <summary>
    /// Whether <paramref name="fileName"/> (a name, not a path) is a temporary file of this writer,
    /// <c>.{target}.{pid}.{guid}.tmp</c>; if so, the target's file name and the writer's process id.
    /// </summary>
    /// <param name="fileName">A file name.</param>
    /// <param name="target">The name of the file being written.</param>
    /// <param name="processId">The id of the process that was writing it.</param>
    public static bool TryParseTemporaryName(string fileName, out string target, out int processId)
    {
        target = "";
        processId = 0;
        if (fileName is null || !fileName.StartsWith('.') || !fileName.EndsWith(TemporaryExtension, StringComparison.Ordinal)) return false;
        var parts = fileName[1..^TemporaryExtension.Length].Split('.');
        // target (which may hold dots), pid, 32 hex digits.
        if (parts.Length < 3) return false;
        var guid = parts[^1];
        if (guid.Length != 32 || !guid.All(char.IsAsciiHexDigit)) return false;
        if (!int.TryParse(parts[^2], NumberStyles.None, CultureInfo.InvariantCulture, out processId)) return false;
        target = string.Join('.', parts[..^2]);
        return target.Length > 0;
    }
}
