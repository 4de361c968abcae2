using System.IO.Compression;
using System.Numerics;
using System.Text;
using System.Text.Json;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Torch.Serialization.Pickle;

namespace MLNetSeg.Torch.Tests.Serialization;

/// <summary>
/// Reading torch.save files (tools/fixtures/gen_pth.py, torch 1.13). Tensor values are compared
/// with the safetensors twin the script hand-encoded from the same state dict, bit for bit
/// (raw bytes, so -0.0, NaN payloads and 16-bit floats must survive exactly); layouts (strides,
/// storage sharing) and the wrapped checkpoint's other values with what torch.load reported
/// (expected.json). No tolerance anywhere: loading must not change a bit.
/// </summary>
[TestClass]
public class PyTorchCheckpointTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "pth", name);

    private static JsonElement Expected(string section)
    {
        using var doc = JsonDocument.Parse(File.ReadAllBytes(Fixture("expected.json")));
        return doc.RootElement.GetProperty(section).Clone();
    }

    private static byte[] Bytes(Tensor t)
    {
        var bytes = new byte[t.NumEl * t.DType.ElementSize()];
        t.Contiguous().CopyTo<byte>(bytes);
        return bytes;
    }

    private static void AssertSameAsTwin(IReadOnlyDictionary<string, Tensor> loaded, string what)
    {
        var twin = SafeTensors.Load(Fixture("state_dict.safetensors"));
        Assert.IsTrue(twin.Count > 0, "state_dict.safetensors: no tensors to compare");
        CollectionAssert.AreEqual(twin.Keys.ToArray(), loaded.Keys.ToArray(), $"{what}: names in state-dict order");
        foreach (var (name, expected) in twin)
        {
            var actual = loaded[name];
            Assert.AreEqual(expected.DType, actual.DType, $"{what} '{name}': dtype");
            CollectionAssert.AreEqual(expected.Shape, actual.Shape, $"{what} '{name}': shape");
            CollectionAssert.AreEqual(Bytes(expected), Bytes(actual), $"{what} '{name}': values (raw bytes)");
        }
    }

    /// <summary>Strides as torch.load reported them (offsets show in the values: 'tail' and
    /// 'base_cols' start inside their storage), and storage sharing: writing into the tensor
    /// that first names a storage must show through every tensor torch says shares it.</summary>
    private static void AssertLayoutsAsTorch(IReadOnlyDictionary<string, Tensor> loaded, JsonElement layouts, string what)
    {
        foreach (var entry in layouts.EnumerateObject())
        {
            var stride = entry.Value.GetProperty("stride").EnumerateArray().Select(s => s.GetInt64()).ToArray();
            CollectionAssert.AreEqual(stride, loaded[entry.Name].Strides, $"{what} '{entry.Name}': strides");
            Assert.AreEqual(entry.Value.GetProperty("requires_grad").GetBoolean(), loaded[entry.Name].RequiresGrad, $"{what} '{entry.Name}': requires_grad");
        }
        var groups = layouts.EnumerateObject()
            .GroupBy(e => e.Value.GetProperty("shares_storage_with").GetString()!, e => e.Name)
            .Where(g => g.Count() > 1).ToList();
        Assert.IsTrue(groups.Any(g => g.Count() == 3), $"{what}: the fixture has a storage shared by three tensors");
        foreach (var group in groups)
        {
            using var scope = DisposeScope.Enter();
            loaded[group.Key].Fill_(7.0);
            foreach (var member in group)
                Assert.IsTrue(loaded[member].Double().ToArray<double>().All(v => v == 7.0), $"{what} '{member}' shares storage with '{group.Key}'");
        }
    }

    [TestMethod]
    public void ZipStateDictEqualsTheSafetensorsTwinBitForBit()
    {
        using var scope = DisposeScope.Enter();
        Assert.AreEqual(CheckpointFormat.Zip, PyTorchCheckpoint.DetectFormat(Fixture("state_dict.pth")));
        var loaded = PyTorchCheckpoint.LoadStateDict(Fixture("state_dict.pth"));
        AssertSameAsTwin(loaded, "state_dict.pth");
        Assert.AreEqual(3L, loaded["body.1.num_batches_tracked"].ItemLong(), "num_batches_tracked (int64, 0-d)");
        Assert.AreEqual(0, loaded["body.1.num_batches_tracked"].Dim);
        AssertLayoutsAsTorch(loaded, Expected("state_dict"), "state_dict.pth");
    }

    [TestMethod]
    public void LegacyStateDictEqualsTheSafetensorsTwinBitForBit()
    {
        using var scope = DisposeScope.Enter();
        Assert.AreEqual(CheckpointFormat.Legacy, PyTorchCheckpoint.DetectFormat(Fixture("state_dict.legacy.pth")));
        var loaded = PyTorchCheckpoint.LoadStateDict(Fixture("state_dict.legacy.pth"));
        AssertSameAsTwin(loaded, "state_dict.legacy.pth");
        AssertLayoutsAsTorch(loaded, Expected("legacy_state_dict"), "state_dict.legacy.pth");
    }

    [TestMethod]
    public void WrappedCheckpointGivesItsStateDictAndOtherValues()
    {
        using var scope = DisposeScope.Enter();
        var expected = Expected("wrapped");
        var tree = PyTorchCheckpoint.LoadObject(Fixture("wrapped.pth"));
        var root = (CheckpointDict)tree!;

        AssertSameAsTwin(PyTorchCheckpoint.StateDictFrom(tree, "model"), "wrapped.pth['model']");
        var model = (CheckpointDict)root["model"]!;
        CollectionAssert.AreEqual(expected.GetProperty("model_metadata_keys").EnumerateArray().Select(k => k.GetString()).ToArray(),
            ((CheckpointDict)model.Attributes["_metadata"]!).Keys.Cast<string>().ToArray(), "state_dict()._metadata keys");

        Assert.AreEqual(expected.GetProperty("epoch").GetInt64(), root["epoch"]);
        Assert.AreEqual(expected.GetProperty("best_score").GetDouble(), root["best_score"]);
        Assert.AreEqual(expected.GetProperty("name").GetString(), root["name"]);
        CollectionAssert.AreEqual(expected.GetProperty("input_shape").EnumerateArray().Select(v => (object?)v.GetInt64()).ToArray(),
            ((CheckpointTuple)root["input_shape"]!).ToArray(), "tuple");
        CollectionAssert.AreEqual(expected.GetProperty("milestones").EnumerateArray().Select(v => (object?)v.GetInt64()).ToArray(),
            (List<object?>)root["milestones"]!, "list");
        var flags = (CheckpointDict)root["flags"]!;
        Assert.AreEqual(expected.GetProperty("flags").GetProperty("amp").GetBoolean(), flags["amp"]);
        Assert.IsNull(flags["note"]);
        Assert.AreEqual(BigInteger.Parse(expected.GetProperty("huge").GetString()!), root["huge"], "int beyond 64 bits");
        CollectionAssert.AreEqual(expected.GetProperty("blob").EnumerateArray().Select(b => (byte)b.GetInt32()).ToArray(), (byte[])root["blob"]!);

        var scale = (Tensor)root["ema_scale"]!;
        Assert.AreEqual(expected.GetProperty("ema_scale").GetProperty("requires_grad").GetBoolean(), scale.RequiresGrad, "nn.Parameter keeps requires_grad");
        CollectionAssert.AreEqual(expected.GetProperty("ema_scale").GetProperty("data").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
            scale.ToArray<float>());

        var optimizerExpected = expected.GetProperty("optimizer");
        var optimizer = (CheckpointDict)root["optimizer"]!;
        var state = (CheckpointDict)optimizer["state"]!;
        CollectionAssert.AreEquivalent(optimizerExpected.GetProperty("state_keys").EnumerateArray().Select(k => (object)k.GetInt64()).ToArray(),
            state.Keys.ToArray(), "optimizer state is keyed by int parameter ids");
        var momentum = (Tensor)((CheckpointDict)state[0L]!)["momentum_buffer"]!;
        CollectionAssert.AreEqual(optimizerExpected.GetProperty("momentum_buffer_0_shape").EnumerateArray().Select(v => v.GetInt64()).ToArray(), momentum.Shape);
        // float32 values went to JSON as their exact double value, so the cast back is exact.
        CollectionAssert.AreEqual(optimizerExpected.GetProperty("momentum_buffer_0").EnumerateArray().Select(v => (float)v.GetDouble()).ToArray(),
            momentum.Reshape(-1).ToArray<float>());
        var group = (CheckpointDict)((List<object?>)optimizer["param_groups"]!)[0]!;
        Assert.AreEqual(optimizerExpected.GetProperty("lr").GetDouble(), group["lr"]);
        Assert.AreEqual(optimizerExpected.GetProperty("momentum").GetDouble(), group["momentum"]);
        CollectionAssert.AreEqual(optimizerExpected.GetProperty("params").EnumerateArray().Select(v => (object?)v.GetInt64()).ToArray(),
            (List<object?>)group["params"]!);
    }

    [TestMethod]
    public void WrappedCheckpointNeedsItsKeyAndSaysWhichOne()
    {
        using var scope = DisposeScope.Enter();
        var path = Fixture("wrapped.pth");
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, "'model' is a dict, not a Tensor");
        StringAssert.Contains(e.Message, "a state dict is under 'model'");

        AssertSameAsTwin(PyTorchCheckpoint.LoadStateDict(path, key: "model"), "LoadStateDict(wrapped.pth, \"model\")");

        var missing = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path, key: "state_dict"));
        StringAssert.Contains(missing.Message, "no key 'state_dict'");
        StringAssert.Contains(missing.Message, "'model'");
        var notDict = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.StateDictFrom(PyTorchCheckpoint.LoadObject(path), "epoch"));
        StringAssert.Contains(notDict.Message, "['epoch'] is an int, not a state dict");
    }

    [TestMethod]
    public void RefusesAPickleCallingOsSystem()
    {
        var path = Fixture("forbidden_os_system.pth");
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadObject(path));
        Assert.AreEqual("os.system", e.ForbiddenGlobal);
        StringAssert.Contains(e.Message, "'os.system'");
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void RefusesAForbiddenGlobalAfterLegitimateTensors()
    {
        // The whole pickle is vetted before any storage is read: with the tensor's storage record
        // deleted, the refusal (not a missing-record error) is still what comes out.
        using var dir = new TempDir();
        var path = dir.File("forbidden_rmtree.pth");
        File.Copy(Fixture("forbidden_rmtree.pth"), path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        {
            CollectionAssert.Contains(zip.Entries.Select(en => en.FullName).ToList(), "forbidden_rmtree/data/0");
            zip.GetEntry("forbidden_rmtree/data/0")!.Delete();
        }
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path));
        Assert.AreEqual("shutil.rmtree", e.ForbiddenGlobal);
        StringAssert.Contains(e.Message, "'shutil.rmtree'");
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void UnsupportedDtypeIsNamed()
    {
        var path = Fixture("complex.pth");
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path));
        StringAssert.Contains(e.Message, "unsupported dtype");
        StringAssert.Contains(e.Message, "torch.ComplexFloatStorage (complex64)");
        StringAssert.Contains(e.Message, path);
    }

    [TestMethod]
    public void TruncatedFilesFailClearly()
    {
        using var dir = new TempDir();
        foreach (var (source, fraction) in new[] { ("state_dict.pth", 0.5), ("state_dict.pth", 0.99), ("state_dict.legacy.pth", 0.2), ("state_dict.legacy.pth", 0.9) })
        {
            var bytes = File.ReadAllBytes(Fixture(source));
            var path = dir.File($"{fraction}-{source}");
            File.WriteAllBytes(path, bytes[..(int)(bytes.Length * fraction)]);
            var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path), $"{source} cut at {fraction}");
            StringAssert.Contains(e.Message, path);
            StringAssert.Contains(e.Message, "truncated", $"{source} cut at {fraction}: {e.Message}");
        }
    }

    [TestMethod]
    public void FilesThatAreNotCheckpointsAreNamedAsSuch()
    {
        using var dir = new TempDir();
        var text = dir.File("notes.pth");
        File.WriteAllText(text, "these are not the weights you are looking for");
        StringAssert.Contains(Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(text)).Message, "not a PyTorch checkpoint");
        var empty = dir.File("empty.pth");
        File.WriteAllBytes(empty, Array.Empty<byte>());
        StringAssert.Contains(Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(empty)).Message, "too short");
        StringAssert.Contains(Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(Fixture("state_dict.safetensors"))).Message,
            "safetensors");
        Assert.ThrowsException<FileNotFoundException>(() => PyTorchCheckpoint.LoadStateDict(dir.File("absent.pth")));
    }

    [TestMethod]
    public void MissingStorageRecordIsNamed()
    {
        using var dir = new TempDir();
        var path = dir.File("missing.pth");
        File.Copy(Fixture("state_dict.pth"), path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update)) zip.GetEntry("state_dict/data/3")!.Delete();
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path));
        StringAssert.Contains(e.Message, "missing storage record state_dict/data/3");
    }

    [TestMethod]
    public void BigEndianCheckpointIsRefused()
    {
        using var dir = new TempDir();
        var path = dir.File("big.pth");
        File.Copy(Fixture("state_dict.pth"), path);
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Update))
        using (var writer = new StreamWriter(zip.CreateEntry("state_dict/byteorder").Open())) writer.Write("big");
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(path));
        StringAssert.Contains(e.Message, "big-endian");
    }

    /// <summary>A zip checkpoint holding <paramref name="pickle"/> (after PROTO 2) as its data.pkl.</summary>
    private static string ZipWithPickle(TempDir dir, string name, byte[] pickle)
    {
        var path = dir.File(name + ".pth");
        using (var zip = ZipFile.Open(path, ZipArchiveMode.Create))
        using (var s = zip.CreateEntry(name + "/data.pkl", CompressionLevel.NoCompression).Open())
        {
            s.Write(new byte[] { 0x80, 2 });
            s.Write(pickle);
        }
        return path;
    }

    private static byte[] Repeat(char op, int count) => Enumerable.Repeat((byte)op, count).ToArray();

    [TestMethod]
    public void NestingIsLimitedSoThatNothingCanOverflowTheStack()
    {
        using var dir = new TempDir();
        // 100 nested lists load: deeper than any checkpoint.
        int depth = Unpickler.MaxDepth;
        var node = PyTorchCheckpoint.LoadObject(ZipWithPickle(dir, "ok", [.. Repeat(']', depth), .. Repeat('a', depth - 1), (byte)'.']));
        for (int i = 1; i < depth; i++) node = ((List<object?>)node!).Single();
        Assert.AreEqual(0, ((List<object?>)node!).Count);

        // 100 000 nested lists, and (found by fuzzing) 100 000 nested tuples as a dict key, whose hash
        // recursed until the process died of a stack overflow: both are format errors now.
        const int deep = 100_000;
        foreach (var (name, pickle) in new[]
        {
            ("lists", (byte[])[.. Repeat(']', deep), .. Repeat('a', deep - 1), (byte)'.']),
            ("tuplekey", [(byte)'}', (byte)')', .. Enumerable.Repeat((byte)0x85, deep), (byte)'N', (byte)'s', (byte)'.']),
        })
        {
            var path = ZipWithPickle(dir, name, pickle);
            var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadObject(path), name);
            StringAssert.Contains(e.Message, path);
            StringAssert.Contains(e.Message, $"nest deeper than {Unpickler.MaxDepth} levels", name);
        }
    }

    [TestMethod]
    public void TensorRankIsLimited()
    {
        using var dir = new TempDir();
        static byte[] Str(string s) => [0x8c, (byte)s.Length, .. Encoding.ASCII.GetBytes(s)];
        int rank = TensorBytes.MaxRank + 1;
        // _rebuild_tensor_v2(storage('0', FloatStorage, 1 element), 0, (1,)*rank, (0,)*rank, False, None)
        byte[] pickle =
        [
            (byte)'c', .. Encoding.ASCII.GetBytes("torch._utils\n_rebuild_tensor_v2\n"), (byte)'(',
            (byte)'(', .. Str("storage"), (byte)'c', .. Encoding.ASCII.GetBytes("torch\nFloatStorage\n"), .. Str("0"), .. Str("cpu"), (byte)'K', 1, (byte)'t', (byte)'Q',
            (byte)'K', 0,
            (byte)'(', .. Enumerable.Range(0, rank).SelectMany(_ => new byte[] { (byte)'K', 1 }), (byte)'t',
            (byte)'(', .. Enumerable.Range(0, rank).SelectMany(_ => new byte[] { (byte)'K', 0 }), (byte)'t',
            0x89, (byte)'N', (byte)'t', (byte)'R', (byte)'.',
        ];
        var path = ZipWithPickle(dir, "rank", pickle);
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadObject(path));
        StringAssert.Contains(e.Message, path);
        StringAssert.Contains(e.Message, $"a tensor of {rank} dimensions, more than the 64 supported");
    }

    [TestMethod]
    public void LongIntegersAreReadUpToALimit()
    {
        using var dir = new TempDir();
        // LONG1 of 9 bytes: 2**64 (beyond long), as pickle writes it.
        var big = PyTorchCheckpoint.LoadObject(ZipWithPickle(dir, "big", [0x8a, 9, 0, 0, 0, 0, 0, 0, 0, 0, 1, (byte)'.']));
        Assert.AreEqual(BigInteger.One << 64, big);
        // LONG1 of 6 bytes: 2**40, which pickle writes as LONG1 too, is a long like every int that fits
        // (it came back as a BigInteger, so a storage of 2**31 elements or more was refused).
        Assert.AreEqual(1L << 40, PyTorchCheckpoint.LoadObject(ZipWithPickle(dir, "int64", [0x8a, 6, 0, 0, 0, 0, 0, 1, (byte)'.'])));
        // LONG4 of 1 MB: refused before it is read (printing it in a message would take minutes).
        var path = ZipWithPickle(dir, "huge", [0x8b, .. BitConverter.GetBytes(1 << 20), .. new byte[1 << 20], (byte)'.']);
        StringAssert.Contains(Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadObject(path)).Message, "longer than the 1024 bytes");
    }

    [TestMethod]
    public void CorruptZipDirectoryIsACheckpointFormatException()
    {
        using var dir = new TempDir();
        var bytes = File.ReadAllBytes(Fixture("state_dict.pth"));
        int eocd = bytes.AsSpan().LastIndexOf("PK\x05\x06"u8);

        // Found by fuzzing: a wrong entry count in the end record escaped as InvalidDataException.
        var count = dir.File("count.pth");
        var patched = (byte[])bytes.Clone();
        patched[eocd + 10]++;
        File.WriteAllBytes(count, patched);
        var e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(count));
        StringAssert.Contains(e.Message, count);
        StringAssert.Contains(e.Message, "corrupt");

        // A directory entry claiming 2 GB for a record of a few bytes is refused before allocating it.
        var claims = dir.File("claims.pth");
        patched = (byte[])bytes.Clone();
        int entry = patched.AsSpan().IndexOf("PK\x01\x02"u8);
        BitConverter.GetBytes(2_000_000_000).CopyTo(patched, entry + 24);  // uncompressed size
        File.WriteAllBytes(claims, patched);
        e = Assert.ThrowsException<CheckpointFormatException>(() => PyTorchCheckpoint.LoadStateDict(claims));
        StringAssert.Contains(e.Message, claims);
        StringAssert.Contains(e.Message, "claims 2000000000 bytes");
    }

    // ---- loading into a module

    /// <summary>The C# twin of gen_pth.py's Net: same names, shapes and dtypes.</summary>
    private sealed class FixtureNet : Module
    {
        public FixtureNet(long lastConvOut = 2)
        {
            RegisterModule("body", new Sequential(new Conv2d(3, 4, 3, bias: false), new BatchNorm2d(4), new ReLU(), new Conv2d(4, lastConvOut, 1)));
            RegisterModule("extras", new Extras());
        }
    }

    private sealed class Extras : Module
    {
        public Extras()
        {
            foreach (var (name, shape, dtype) in new (string, long[], DType)[]
            {
                ("base", new long[] { 4, 6 }, DType.Float64), ("base_t", new long[] { 6, 4 }, DType.Float64),
                ("base_cols", new long[] { 3, 3 }, DType.Float64), ("tail", new long[] { 4 }, DType.Float32),
                ("f16", new long[] { 3, 2 }, DType.Float16), ("bf16", new long[] { 5 }, DType.BFloat16),
                ("mask", new long[] { 2, 3 }, DType.Bool), ("i32", new long[] { 4 }, DType.Int32),
                ("i16", new long[] { 2, 2 }, DType.Int16), ("i8", new long[] { 5 }, DType.Int8),
                ("u8", new long[] { 3 }, DType.UInt8), ("i64", new long[] { 3 }, DType.Int64),
                ("scalar_f64", Array.Empty<long>(), DType.Float64), ("empty", new long[] { 0, 3 }, DType.Float32),
            })
                RegisterBuffer(name, Tensor.Zeros(shape, dtype));
        }
    }

    [TestMethod]
    public void LoadIntoFillsAMatchingModule()
    {
        using var scope = DisposeScope.Enter();
        using var net = new FixtureNet();
        var result = PyTorchCheckpoint.LoadInto(net, Fixture("state_dict.pth"));
        Assert.AreEqual(0, result.MissingKeys.Count + result.UnexpectedKeys.Count);
        AssertSameAsTwin(net.StateDict(), "FixtureNet after LoadInto");
    }

    [TestMethod]
    public void LoadIntoNamesAMisShapedKey()
    {
        using var scope = DisposeScope.Enter();
        using var net = new FixtureNet(lastConvOut: 3);
        var path = Fixture("wrapped.pth");
        var e = Assert.ThrowsException<StateDictException>(() => PyTorchCheckpoint.LoadInto(net, path, key: "model"));
        Assert.AreEqual(2, e.SizeMismatches.Count, string.Join("; ", e.SizeMismatches));
        StringAssert.Contains(e.SizeMismatches[0], "size mismatch for body.3.weight: copying a tensor with shape [2, 4, 1, 1]");
        StringAssert.Contains(e.SizeMismatches[1], "size mismatch for body.3.bias");
        StringAssert.Contains(e.Message, path);
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetseg-pth-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }
}
