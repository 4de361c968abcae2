using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Nn;
using MLNetSeg.Torch.Serialization;
using MLNetSeg.Torch.Tests.Parity;

namespace MLNetSeg.Torch.Tests.Serialization;

/// <summary>
/// safetensors I/O: the reference file hand-encoded by tools/fixtures/gen_nn.py
/// (tests/fixtures/nn/safetensors), bit-exact round trips, and failures that name the file and
/// tensor. All comparisons are exact (raw bytes), since serialization must not change a bit.
/// </summary>
[TestClass]
public class SafeTensorsTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "nn", "safetensors", name);

    private static byte[] Bytes(Tensor t)
    {
        var bytes = new byte[t.NumEl * t.DType.ElementSize()];
        t.CopyTo<byte>(bytes);
        return bytes;
    }

    private static void AssertBitIdentical(Tensor expected, Tensor actual, string what)
    {
        Assert.AreEqual(expected.DType, actual.DType, $"{what}: dtype");
        CollectionAssert.AreEqual(expected.Shape, actual.Shape, $"{what}: shape");
        CollectionAssert.AreEqual(Bytes(expected), Bytes(actual), $"{what}: bytes");
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetseg-st-").FullName;
        public string File(string name) => System.IO.Path.Combine(Path, name);
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    private static Sequential SmallModel() => new(new Conv2d(3, 4, 3, bias: false), new BatchNorm2d(4), new ReLU(), new Conv2d(4, 2, 1));

    [TestMethod]
    public void ReadsTheFileWrittenByTheReferenceScript()
    {
        using var scope = DisposeScope.Enter();
        var content = SafeTensors.Read(Fixture("reference.safetensors"));
        using var expected = JsonDocument.Parse(File.ReadAllBytes(Fixture("reference.expected.json")));
        var meta = expected.RootElement.GetProperty("metadata").EnumerateObject().ToDictionary(p => p.Name, p => p.Value.GetString());
        CollectionAssert.AreEquivalent(meta, content.Metadata.ToDictionary(kv => kv.Key, kv => (string?)kv.Value));
        var tensors = expected.RootElement.GetProperty("tensors");
        CollectionAssert.AreEqual(tensors.EnumerateObject().Select(p => p.Name).ToArray(), content.Tensors.Keys.ToArray(), "names in file order");
        foreach (var entry in tensors.EnumerateObject())
        {
            var actual = content.Tensors[entry.Name];
            Assert.AreEqual(entry.Value.GetProperty("safetensors_dtype").GetString(), SafeTensors.DTypeCode(actual.DType), entry.Name);
            var value = ParityFixture.ToTensor(entry.Value.GetProperty("value"), entry.Name);
            // 16-bit floats were recorded as their float32 values, which convert exactly.
            var comparable = actual.DType is DType.Float16 or DType.BFloat16 ? actual.To(DType.Float32) : actual;
            ParityFixture.AssertClose(comparable, value, Tolerance.Exact, $"reference.safetensors '{entry.Name}'");
        }
        Assert.AreEqual(-0.0, content.Tensors["f64"].ToArray<double>()[1]);
        Assert.IsTrue(double.IsNegative(content.Tensors["f64"].ToArray<double>()[1]), "-0.0 keeps its sign");
    }

    [TestMethod]
    public void WritesTheSameBytesAsTheReferenceEncoder()
    {
        // Re-encoding what the reference wrote must give its exact bytes: same header JSON, same
        // padding, same data layout. So files we write are files the format's readers accept.
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        var content = SafeTensors.Read(Fixture("reference.safetensors"));
        var path = dir.File("rewritten.safetensors");
        SafeTensors.Save(path, content.Tensors, content.Metadata);
        CollectionAssert.AreEqual(File.ReadAllBytes(Fixture("reference.safetensors")), File.ReadAllBytes(path));
    }

    [TestMethod]
    public void StateDictRoundTripIsBitExact()
    {
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        TorchRuntime.ManualSeed(11);
        using var model = SmallModel();
        model.Forward(Tensor.Randn(new long[] { 2, 3, 5, 5 }));  // moves the running stats and the batch count
        var path = dir.File("model.safetensors");
        SafeTensors.Save(path, model);

        TorchRuntime.ManualSeed(12);
        using var fresh = SmallModel();
        var result = SafeTensors.LoadInto(fresh, path);
        Assert.AreEqual(0, result.MissingKeys.Count + result.UnexpectedKeys.Count);
        var expected = model.StateDict();
        var actual = fresh.StateDict();
        CollectionAssert.AreEqual(expected.Keys.ToArray(), actual.Keys.ToArray());
        foreach (var (name, t) in expected) AssertBitIdentical(t, actual[name], name);
        Assert.AreEqual(1, fresh.NamedBuffers().First(b => b.Name == "1.num_batches_tracked").Buffer.ItemLong());
    }

    [TestMethod]
    public void EveryDtypeAndOddValueRoundTripsBitExactly()
    {
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        var nan32 = BitConverter.Int32BitsToSingle(0x7FC0_1234);        // a NaN with a payload
        var nan64 = BitConverter.Int64BitsToDouble(0x7FF8_0000_0000_BEEF);
        var tensors = new OrderedDictionary<string, Tensor>
        {
            ["f32"] = Tensor.FromArray(new[] { 1.5f, -0f, float.Epsilon, nan32, float.NegativeInfinity, 3.4e38f }, 2, 3),
            ["f64"] = Tensor.FromArray(new[] { Math.PI, -0.0, double.Epsilon, nan64 }, 4),
            ["f16"] = Tensor.FromArray(new[] { 1.5f, -0.333f, 65504f, 6e-8f }, 4).To(DType.Float16),
            ["bf16"] = Tensor.FromArray(new[] { 1.5f, -0.333f, 3e38f, -1e-20f }, 2, 2).To(DType.BFloat16),
            ["i64"] = Tensor.FromArray(new[] { long.MinValue, -1L, long.MaxValue }, 3),
            ["i32"] = Tensor.FromArray(new[] { int.MinValue, 7 }, 2),
            ["i16"] = Tensor.FromArray(new[] { 1, -300 }, 2).To(DType.Int16),
            ["i8"] = Tensor.FromArray(new[] { 1, -100 }, 2).To(DType.Int8),
            ["u8"] = Tensor.FromArray(new byte[] { 0, 255, 17 }, 3),
            ["bool"] = Tensor.FromArray(new[] { true, false, true }, 3),
            ["scalar"] = Tensor.Scalar(42, DType.Int64),
            ["empty"] = Tensor.Zeros(new long[] { 0, 3 }),
            ["transposed"] = Tensor.Arange(0, 6, 1, DType.Float32).Reshape(2, 3).Transpose(0, 1),  // stored contiguous
        };
        var path = dir.File("all.safetensors");
        SafeTensors.Save(path, tensors, new Dictionary<string, string> { ["epoch"] = "3", ["note"] = "ünïcode ✓" });
        var back = SafeTensors.Read(path);
        Assert.AreEqual("ünïcode ✓", back.Metadata["note"]);
        CollectionAssert.AreEqual(tensors.Keys.ToArray(), back.Tensors.Keys.ToArray());
        foreach (var (name, t) in tensors) AssertBitIdentical(t.Contiguous(), back.Tensors[name], name);
        var header = SafeTensors.ReadHeader(path).Tensors;
        Assert.AreEqual("BF16", SafeTensors.DTypeCode(header.Single(h => h.Name == "bf16").DType));
        Assert.AreEqual(0, (8 + BinaryPrimitives.ReadInt64LittleEndian(File.ReadAllBytes(path))) % 8, "data section is 8-byte aligned");
    }

    [TestMethod]
    public void MissingOrMisShapedTensorsFailWithTheirNames()
    {
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        using var model = SmallModel();
        var sd = model.StateDict();

        var missing = dir.File("missing.safetensors");
        SafeTensors.Save(missing, sd.Where(kv => kv.Key != "1.running_var"));
        using var target = SmallModel();
        var e = Assert.ThrowsException<StateDictException>(() => SafeTensors.LoadInto(target, missing));
        StringAssert.Contains(e.Message, "\"1.running_var\"");
        StringAssert.Contains(e.Message, missing);

        var misShaped = dir.File("misshaped.safetensors");
        var bad = new OrderedDictionary<string, Tensor>();
        foreach (var (k, v) in sd) bad[k] = k == "3.weight" ? Tensor.Zeros(new long[] { 2, 4, 3, 3 }) : v;
        SafeTensors.Save(misShaped, bad);
        e = Assert.ThrowsException<StateDictException>(() => SafeTensors.LoadInto(target, misShaped, strict: false));
        StringAssert.Contains(e.Message, "size mismatch for 3.weight");
        StringAssert.Contains(e.Message, "[2, 4, 3, 3]");
        StringAssert.Contains(e.Message, "[2, 4, 1, 1]");
    }

    [TestMethod]
    public void CorruptFilesFailNamingTheFileAndTensor()
    {
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        var good = dir.File("good.safetensors");
        SafeTensors.Save(good, new Dictionary<string, Tensor>
        {
            ["a"] = Tensor.Ones(new long[] { 2, 2 }),
            ["b.weight"] = Tensor.Ones(new long[] { 3 }, DType.Float64),
        });
        var bytes = File.ReadAllBytes(good);

        var truncated = dir.File("truncated.safetensors");
        File.WriteAllBytes(truncated, bytes[..^4]);
        var e = Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(truncated));
        StringAssert.Contains(e.Message, truncated);
        StringAssert.Contains(e.Message, "'b.weight'");

        // Same-length edit of the header: the shape no longer matches the byte span.
        var text = Encoding.UTF8.GetString(bytes);
        var wrongShape = dir.File("shape.safetensors");
        File.WriteAllBytes(wrongShape, Encoding.UTF8.GetBytes(text.Replace("\"shape\":[3]", "\"shape\":[4]")));
        e = Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(wrongShape));
        StringAssert.Contains(e.Message, "'b.weight'");
        StringAssert.Contains(e.Message, "[4]");

        var wrongDtype = dir.File("dtype.safetensors");
        File.WriteAllBytes(wrongDtype, Encoding.UTF8.GetBytes(text.Replace("\"F64\"", "\"C64\"")));
        StringAssert.Contains(Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(wrongDtype)).Message, "unsupported dtype 'C64'");

        var trailing = dir.File("trailing.safetensors");
        File.WriteAllBytes(trailing, bytes.Concat(new byte[8]).ToArray());
        StringAssert.Contains(Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(trailing)).Message, "cover");

        var notSafetensors = dir.File("random.bin");
        File.WriteAllBytes(notSafetensors, Enumerable.Range(0, 64).Select(i => (byte)(i * 37)).ToArray());
        StringAssert.Contains(Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(notSafetensors)).Message, "header length");

        Assert.ThrowsException<FileNotFoundException>(() => SafeTensors.Load(dir.File("absent.safetensors")));
    }

    [TestMethod]
    public void HeaderThatIsNotTextIsAFormatErrorNamingTheFile()
    {
        // Found by fuzzing: System.Text.Json checks a string's UTF-8 only when reading it, and throws
        // InvalidOperationException; an escaped lone surrogate is valid JSON but no text either.
        using var dir = new TempDir();
        foreach (var (name, header) in new[]
        {
            ("utf8.safetensors", new byte[] { (byte)'{', (byte)'"', 0xEC, (byte)'"', (byte)':', (byte)'{', (byte)'}', (byte)'}' }),
            ("surrogate.safetensors", Encoding.ASCII.GetBytes("{\"\\ud800\":{}}    ")),
            ("surrogate-metadata.safetensors", Encoding.ASCII.GetBytes("{\"__metadata__\":{\"k\":\"\\udc00\"}}  ")),
        })
        {
            var path = dir.File(name);
            File.WriteAllBytes(path, BitConverter.GetBytes((ulong)header.Length).Concat(header).ToArray());
            var e = Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(path), name);
            StringAssert.Contains(e.Message, path);
            StringAssert.Contains(e.Message, "text", name);
        }
    }

    [TestMethod]
    public void RankIsLimited()
    {
        // Found by fuzzing: a 1-element tensor of 100 000 dimensions (a 200 KB file) took a minute to read
        // and use, as libtorch's cost grows with the square of the rank.
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        var path = dir.File("rank.safetensors");
        foreach (int rank in new[] { TensorBytes.MaxRank, TensorBytes.MaxRank + 1 })
        {
            var header = Encoding.ASCII.GetBytes($"{{\"x\":{{\"dtype\":\"F32\",\"shape\":[{string.Join(",", Enumerable.Repeat(1, rank))}],\"data_offsets\":[0,4]}}}}");
            File.WriteAllBytes(path, [.. BitConverter.GetBytes((ulong)header.Length), .. header, .. new byte[4]]);
            if (rank <= TensorBytes.MaxRank) Assert.AreEqual(rank, SafeTensors.Load(path)["x"].Shape.Length);
            else StringAssert.Contains(Assert.ThrowsException<InvalidDataException>(() => SafeTensors.Load(path)).Message, $"{rank} dimensions, more than the 64 supported");
        }
    }

    [TestMethod]
    public void FailedWritesLeaveTheExistingFileUntouched()
    {
        using var scope = DisposeScope.Enter();
        using var dir = new TempDir();
        var path = dir.File("checkpoint.safetensors");
        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["x"] = Tensor.Ones(new long[] { 2 }) });
        var before = File.ReadAllBytes(path);

        IEnumerable<KeyValuePair<string, Tensor>> Failing()
        {
            yield return new("y", Tensor.Zeros(new long[] { 3 }));
            throw new IOException("disk vanished");
        }
        Assert.ThrowsException<IOException>(() => SafeTensors.Save(path, Failing()));
        Assert.ThrowsException<ArgumentException>(() => SafeTensors.Save(path,
            new[] { new KeyValuePair<string, Tensor>("x", Tensor.Ones(new long[] { 1 })), new KeyValuePair<string, Tensor>("x", Tensor.Ones(new long[] { 1 })) }));
        CollectionAssert.AreEqual(before, File.ReadAllBytes(path));

        // A failure after the data was written (here: the final rename onto a directory) removes the temporary file.
        var blocked = Directory.CreateDirectory(dir.File("blocked")).FullName;
        Assert.ThrowsException<IOException>(() => SafeTensors.Save(blocked, new Dictionary<string, Tensor> { ["x"] = Tensor.Ones(new long[] { 2 }) }));
        Directory.Delete(blocked);
        CollectionAssert.AreEqual(new[] { "checkpoint.safetensors" }, Directory.GetFiles(dir.Path).Select(Path.GetFileName).ToArray(), "no temporary files left");

        SafeTensors.Save(path, new Dictionary<string, Tensor> { ["z"] = Tensor.Full(new long[] { 4 }, 7) });
        Assert.AreEqual("z", SafeTensors.Load(path).Keys.Single(), "a successful save replaces the file");
    }
}
