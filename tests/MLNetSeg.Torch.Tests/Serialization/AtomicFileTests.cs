using MLNetSeg.Torch.IO;

namespace MLNetSeg.Torch.Tests.Serialization;

/// <summary>
/// The one atomic writer: the temporary file's name and place, replacement of the target only when
/// complete, the temporary file removed on every failure, and failures reported as exceptions of the
/// documented types naming the target and the cause. (A full disk is tested on a real tmpfs in
/// MLNetSeg.Reliability.Tests/Faults.)
/// </summary>
[TestClass]
public sealed class AtomicFileTests
{
    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetseg-atomic-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    [TestMethod]
    public void TheTemporaryFileIsHiddenNextToTheTargetAndNamesTheWriter()
    {
        using var dir = new TempDir();
        var target = dir.File("model_final.mlseg");
        string? seen = null;
        AtomicFile.Write(target, stream =>
        {
            seen = Directory.GetFiles(dir.Path).Single();
            Assert.IsFalse(File.Exists(target), "the target appears only when complete");
            stream.Write("abc"u8);
        });
        var name = Path.GetFileName(seen!);
        Assert.AreEqual(dir.Path, Path.GetDirectoryName(seen), "same folder (a rename never crosses file systems)");
        StringAssert.StartsWith(name, $".model_final.mlseg.{Environment.ProcessId}.");
        StringAssert.EndsWith(name, ".tmp");
        Assert.IsTrue(AtomicFile.TryParseTemporaryName(name, out var parsedTarget, out var pid));
        Assert.AreEqual("model_final.mlseg", parsedTarget);
        Assert.AreEqual(Environment.ProcessId, pid);
        CollectionAssert.AreEqual("abc"u8.ToArray(), File.ReadAllBytes(target));
        CollectionAssert.AreEqual(new[] { target }, Directory.GetFiles(dir.Path), "the temporary file was renamed");

        Assert.IsFalse(AtomicFile.TryParseTemporaryName("checkpoint_0000001.ckpt", out _, out _));
        Assert.IsFalse(AtomicFile.TryParseTemporaryName(".x.notapid.0123456789abcdef0123456789abcdef.tmp", out _, out _));
        Assert.IsFalse(AtomicFile.TryParseTemporaryName(".x.12.short.tmp", out _, out _));
        Assert.IsFalse(AtomicFile.TryParseTemporaryName(".12.0123456789abcdef0123456789abcdef.tmp", out _, out _), "no target name");
    }

    [TestMethod]
    public void AFailedWriteLeavesTheTargetAndNoTemporaryFile()
    {
        using var dir = new TempDir();
        var target = dir.File("metrics.jsonl");
        AtomicFile.WriteAllText(target, "before\n");

        // The caller's own error passes through unchanged.
        var own = Assert.ThrowsException<InvalidOperationException>(() => AtomicFile.Write(target, stream =>
        {
            stream.Write("half"u8);
            throw new InvalidOperationException("serializer broke");
        }));
        Assert.AreEqual("serializer broke", own.Message);
        // An I/O error is an IOException naming the target, the original inside.
        var io = Assert.ThrowsException<IOException>(() => AtomicFile.Write(target, stream =>
        {
            stream.Write("half"u8);
            throw new IOException("device went away");
        }));
        StringAssert.Contains(io.Message, $"cannot write {target}: device went away");
        Assert.AreEqual("device went away", io.InnerException!.Message);
        Assert.AreEqual("before\n", File.ReadAllText(target));
        CollectionAssert.AreEqual(new[] { target }, Directory.GetFiles(dir.Path), "no temporary file is left");

        // A failure at the rename (a folder in the target's place) also removes the temporary file.
        var blocked = Directory.CreateDirectory(dir.File("blocked")).FullName;
        var rename = Assert.ThrowsException<IOException>(() => AtomicFile.WriteAllBytes(blocked, new byte[] { 1 }));
        StringAssert.Contains(rename.Message, $"cannot write {blocked}: ");
        Assert.IsNotNull(rename.InnerException);
        CollectionAssert.AreEqual(new[] { target }, Directory.GetFiles(dir.Path));
    }

    [TestMethod]
    public void AMissingFolderIsCreatedOnlyWhenAsked()
    {
        using var dir = new TempDir();
        var target = Path.Combine(dir.Path, "a", "b", "graph.onnx");
        var e = Assert.ThrowsException<DirectoryNotFoundException>(() => AtomicFile.WriteAllBytes(target, new byte[] { 1, 2 }));
        StringAssert.Contains(e.Message, $"cannot write {target}: ");
        Assert.IsFalse(Directory.Exists(Path.Combine(dir.Path, "a")));

        AtomicFile.WriteAllBytes(target, new byte[] { 1, 2 }, createDirectory: true);
        CollectionAssert.AreEqual(new byte[] { 1, 2 }, File.ReadAllBytes(target));
        AtomicFile.WriteAllBytes(target, new byte[] { 3 }, createDirectory: true);
        CollectionAssert.AreEqual(new byte[] { 3 }, File.ReadAllBytes(target), "an existing file is replaced");
    }
}
