using System.Buffers.Binary;
using MLNetSeg.Torch.Serialization;
using static MLNetSeg.Training.Tests.Training.TrainingFixtures;

namespace MLNetSeg.Training.Tests.Training;

/// <summary>
/// Checkpoint files on disk: written atomically (a watcher polling the folder during training never
/// sees a checkpoint that is not complete), temporary files cleaned up (including stale ones of a
/// killed writer), old checkpoints pruned, and the files written at the end of a run.
/// </summary>
[TestClass]
public sealed class CheckpointFileTests
{
    private static TinyDataset _data => TinyDataset.Shared;

    [TestMethod]
    public void CheckpointsAreNeverVisibleHalfWrittenAndTemporaryFilesAreCleanedUp()
    {
        using var dir = new TempDir();
        // A temporary file left by a writer that was killed (process 999999 does not run).
        var stale = Path.Combine(dir.Path, $".{TrainingCheckpoint.FileName(7)}.999999.{Guid.NewGuid():N}.tmp");
        File.WriteAllBytes(stale, new byte[100]);

        var fast = FastOptions(dir.Path, 3);
        var options = fast with { Checkpoints = fast.Checkpoints with { Period = 1, Keep = 2 } };
        var seen = new HashSet<string>();
        var partial = new List<string>();
        using var stop = new CancellationTokenSource();
        var watcher = Task.Run(() =>
        {
            while (!stop.IsCancellationRequested)
            {
                foreach (var path in Directory.GetFiles(dir.Path, TrainingCheckpoint.Prefix + "*"))
                {
                    switch (Completeness(path))
                    {
                        case true: lock (seen) seen.Add(Path.GetFileName(path)); break;
                        case false: lock (partial) partial.Add(Path.GetFileName(path)); break;
                        case null: break;  // deleted (pruned) between listing and opening
                    }
                }
            }
        });
        try
        {
            using var detector = new MaskRcnnTrainer(options).Fit(_data.Train());
        }
        finally
        {
            stop.Cancel();
            watcher.Wait();
        }

        Assert.AreEqual(0, partial.Count, $"incomplete checkpoint files were visible: {string.Join(", ", partial)}");
        CollectionAssert.IsSubsetOf(new[] { TrainingCheckpoint.FileName(3) }, seen.ToArray(), "the watcher saw the checkpoints");
        var files = Directory.GetFiles(dir.Path).Select(Path.GetFileName).OrderBy(f => f, StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { TrainingCheckpoint.FileName(2), TrainingCheckpoint.FileName(3), MetricsLog.FileName, "model_final.mlseg" }, files,
            "the two newest checkpoints, the metrics log and the final model; the stale and all new temporary files are gone");
        foreach (var f in files.Where(f => f != MetricsLog.FileName)) Assert.AreEqual(true, Completeness(Path.Combine(dir.Path, f!)), $"{f} is complete");
    }

    /// <summary>True when the file is a whole safetensors file (its length is what its header says),
    /// false when shorter or unreadable, null when it vanished.</summary>
    private static bool? Completeness(string path)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            Span<byte> prefix = stackalloc byte[8];
            if (stream.Read(prefix) != 8) return false;
            long headerLength = (long)BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength <= 0 || 8 + headerLength > stream.Length) return false;
            var (tensors, _) = SafeTensors.ReadHeader(path);
            long expected = 8 + headerLength + (tensors.Count == 0 ? 0 : tensors.Max(t => t.End));
            return stream.Length == expected;
        }
        catch (FileNotFoundException) { return null; }
        catch (InvalidDataException) { return false; }
    }
}
