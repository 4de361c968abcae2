using System.Text;
using MLNetSeg.Torch;
using MLNetSeg.Torch.Serialization;

namespace MLNetSeg.Torch.Tests.Serialization;

/// <summary>
/// TorchSharp's module.save format. Fixtures: tools/fixtures/gen_torchsharp.py encodes state dicts
/// from its own reading of TorchSharp's source and torch.save's the same tensors as a .pth twin,
/// read here through PyTorchCheckpoint (an independent reader); bug510.dat comes from TorchSharp's
/// repository (written by its exportsd.py). Comparisons are of raw bytes: loading must not change a bit.
/// Corrupt files are made here by cutting, extending or hand-assembling bytes.
/// </summary>
[TestClass]
public class TorchSharpFormatTests
{
    private static string Fixture(string name) => Path.Combine(AppContext.BaseDirectory, "fixtures", "torchsharp", name);

    private static byte[] Bytes(Tensor t)
    {
        var bytes = new byte[t.NumEl * t.DType.ElementSize()];
        t.Contiguous().CopyTo<byte>(bytes);
        return bytes;
    }

    private static void AssertEqualsTwin(string stem)
    {
        using var scope = DisposeScope.Enter();
        var actual = TorchSharpFormat.Read(Fixture(stem + ".dat"));
        var twin = PyTorchCheckpoint.LoadStateDict(Fixture(stem + ".pth"));
        Assert.IsTrue(twin.Count > 0, $"{stem}.pth: nothing to compare");
        CollectionAssert.AreEqual(twin.Keys.ToArray(), actual.Keys.ToArray(), $"{stem}: names in file order");
        foreach (var (name, expected) in twin)
        {
            var t = actual[name];
            Assert.AreEqual(expected.DType, t.DType, $"{stem} '{name}': dtype");
            CollectionAssert.AreEqual(expected.Shape, t.Shape, $"{stem} '{name}': shape");
            CollectionAssert.AreEqual(Bytes(expected), Bytes(t), $"{stem} '{name}': values (raw bytes)");
        }
    }

    private sealed class TempDir : IDisposable
    {
        public string Path { get; } = Directory.CreateTempSubdirectory("mlnetseg-ts-").FullName;
        public string Write(string name, byte[] bytes)
        {
            var file = System.IO.Path.Combine(Path, name);
            File.WriteAllBytes(file, bytes);
            return file;
        }
        public void Dispose() => Directory.Delete(Path, recursive: true);
    }

    // ---- reading the fixtures

    [TestMethod]
    public void EveryDTypeShapeAndNameEqualsTheTorchSaveTwin() => AssertEqualsTwin("dtypes");

    [TestMethod]
    public void TheFileFromTorchSharpsRepositoryEqualsItsTwin() => AssertEqualsTwin("bug510");

    [TestMethod]
    public void TheTinyMaskRcnnStateDictEqualsItsTwin() => AssertEqualsTwin("maskrcnn_tiny");

    [TestMethod]
    public void TheEdgeCasesOfTheDTypesFileComeOutAsWritten()
    {
        using var scope = DisposeScope.Enter();
        var sd = TorchSharpFormat.Read(Fixture("dtypes.dat"));
        Assert.AreEqual(18, sd.Count);
        var expectedDTypes = new Dictionary<string, DType>
        {
            ["conv.weight"] = DType.Float32, ["f64"] = DType.Float64, ["f16"] = DType.Float16, ["bf16"] = DType.BFloat16,
            ["i64"] = DType.Int64, ["i32"] = DType.Int32, ["i16"] = DType.Int16, ["i8"] = DType.Int8, ["u8"] = DType.UInt8,
            ["mask"] = DType.Bool, ["bn.num_batches_tracked"] = DType.Int64,
        };
        foreach (var (name, dtype) in expectedDTypes) Assert.AreEqual(dtype, sd[name].DType, name);
        // Values and shapes as the generator wrote them (literals in gen_torchsharp.py).
        CollectionAssert.AreEqual(new[] { long.MinValue, long.MaxValue, -1, 0, (1L << 62) + 5 }, sd["i64"].ToArray<long>());
        CollectionAssert.AreEqual(new sbyte[] { -128, -1, 0, 1, 127 }, sd["i8"].ToArray<sbyte>());
        CollectionAssert.AreEqual(new byte[] { 0, 1, 128, 255 }, sd["u8"].ToArray<byte>());
        Assert.AreEqual(0, sd["bn.num_batches_tracked"].Shape.Length);
        Assert.AreEqual(7L, sd["bn.num_batches_tracked"].ToArray<long>()[0]);
        Assert.AreEqual(0, sd["scalar"].Shape.Length);
        Assert.AreEqual(2.5f, sd["scalar"].ToArray<float>()[0]);
        CollectionAssert.AreEqual(new long[] { 0, 3 }, sd["empty"].Shape);
        CollectionAssert.AreEqual(new long[] { 3, 2 }, sd["transposed"].Shape);
        CollectionAssert.AreEqual(new float[] { 0, 3, 1, 4, 2, 5 }, sd["transposed"].ToArray<float>(), "arange(6).reshape(2, 3).t(), row-major");
        CollectionAssert.AreEqual(new long[] { 1, 300 }, sd["wide"].Shape);
        var special = sd["special"].ToArray<float>();
        Assert.IsTrue(float.IsNegative(special[0]) && special[0] == 0, "-0.0 keeps its sign");
        Assert.IsTrue(float.IsPositiveInfinity(special[1]) && float.IsNegativeInfinity(special[2]) && float.IsNaN(special[3]));
        Assert.IsTrue(sd.ContainsKey("long." + new string('x', 145)), "150-byte name (two-byte length)");
        CollectionAssert.AreEqual(new float[] { 3 }, sd["ünï.wéight"].ToArray<float>(), "non-ASCII name: the length prefix counts UTF-8 bytes");
    }

    [TestMethod]
    public void TheBug510FileHoldsWhatItsScriptSaved()
    {
        // test/TorchSharpTest/bug510.py: Conv1d(1, 32, 3, bias=False) + BatchNorm1d(32) in a Sequential 'stack'.
        using var scope = DisposeScope.Enter();
        var infos = TorchSharpFormat.ReadHeader(Fixture("bug510.dat"));
        CollectionAssert.AreEqual(new[] { "stack.0.weight", "stack.1.weight", "stack.1.bias", "stack.1.running_mean", "stack.1.running_var", "stack.1.num_batches_tracked" },
            infos.Select(i => i.Name).ToArray());
        CollectionAssert.AreEqual(new long[] { 32, 1, 3 }, infos[0].Shape);
        Assert.AreEqual(DType.Int64, infos[5].DType);
        Assert.AreEqual(0, infos[5].Shape.Length);
        Assert.AreEqual(new FileInfo(Fixture("bug510.dat")).Length, infos[^1].DataOffset + infos[^1].ByteLength, "the last entry ends the file");
    }

    [TestMethod]
    public void A256EntryFileStartsLikeAPickleAndIsStillRecognised()
    {
        var path = Fixture("many.dat");
        var head = File.ReadAllBytes(path)[..2];
        CollectionAssert.AreEqual(new byte[] { 0x80, 0x02 }, head, "LEB128(256) is a pickle's PROTO 2");
        Assert.IsTrue(TorchSharpFormat.IsTorchSharpFile(path));
        AssertEqualsTwin("many");
        using var scope = DisposeScope.Enter();
        var sd = TorchSharpFormat.Read(path);
        Assert.AreEqual(256, sd.Count);
        Assert.AreEqual(255 / 8f, sd["t.255"].ToArray<float>()[0]);
    }

    [TestMethod]
    public void OnlyTorchSharpFilesAreRecognised()
    {
        foreach (var name in new[] { "dtypes.dat", "bug510.dat", "many.dat", "maskrcnn_tiny.dat", "resnet18_tiny.dat", "box_predictor_2cls.dat" })
            Assert.IsTrue(TorchSharpFormat.IsTorchSharpFile(Fixture(name)), name);
        var others = new[]
        {
            Fixture("dtypes.pth"),
            Path.Combine(AppContext.BaseDirectory, "fixtures", "pth", "state_dict.legacy.pth"),
            Path.Combine(AppContext.BaseDirectory, "fixtures", "pth", "state_dict.safetensors"),
        };
        foreach (var path in others)
        {
            Assert.IsTrue(File.Exists(path), path);
            Assert.IsFalse(TorchSharpFormat.IsTorchSharpFile(path), path);
        }
    }

    // ---- writing

    [TestMethod]
    public void SavingTheTwinsTensorsReproducesTheFilesByteForByte()
    {
        // The tensors come from the .pth twins (PyTorchCheckpoint), the expected bytes from the
        // generator and, for bug510.dat, from TorchSharp's exportsd.py.
        using var dir = new TempDir();
        foreach (var stem in new[] { "dtypes", "bug510", "many" })
        {
            using var scope = DisposeScope.Enter();
            var path = Path.Combine(dir.Path, stem + ".dat");
            TorchSharpFormat.Save(path, PyTorchCheckpoint.LoadStateDict(Fixture(stem + ".pth")));
            CollectionAssert.AreEqual(File.ReadAllBytes(Fixture(stem + ".dat")), File.ReadAllBytes(path), stem);
        }
    }

    // ---- errors

    private static TorchSharpFormatException ReadFails(string path) =>
        Assert.ThrowsException<TorchSharpFormatException>(() =>
        {
            using var scope = DisposeScope.Enter();
            TorchSharpFormat.Read(path);
        });

    [TestMethod]
    public void EveryCutOfAFileIsReportedAsTruncatedOrNotTorchSharp()
    {
        // dtypes.dat: count (1 byte), then "conv.weight" with its 1-byte length: the first name ends at byte 13.
        var bytes = File.ReadAllBytes(Fixture("dtypes.dat"));
        var names = TorchSharpFormat.ReadHeader(Fixture("dtypes.dat")).Select(i => i.Name).ToHashSet();
        using var dir = new TempDir();
        int truncated = 0;
        for (int cut = 1; cut < bytes.Length; cut++)
        {
            var path = dir.Write("cut.dat", bytes[..cut]);
            var ex = ReadFails(path);
            Assert.AreEqual(cut < 13 ? TorchSharpFormatError.NotTorchSharp : TorchSharpFormatError.Truncated, ex.Error, $"cut at {cut}: {ex.Message}");
            StringAssert.Contains(ex.Message, path);
            if (ex.Error == TorchSharpFormatError.Truncated)
            {
                truncated++;
                Assert.IsTrue(ex.Entry is null || names.Contains(ex.Entry), $"cut at {cut}: entry {ex.Entry}");
            }
        }
        Assert.AreEqual(bytes.Length - 13, truncated);

        var cutData = dir.Write("data.dat", bytes[..^1]);
        var last = ReadFails(cutData);
        Assert.AreEqual("ünï.wéight", last.Entry);
        StringAssert.Contains(last.Message, "needs 4 data bytes");
    }

    [TestMethod]
    public void BytesAfterTheLastEntryAreRefused()
    {
        var bytes = File.ReadAllBytes(Fixture("bug510.dat"));
        using var dir = new TempDir();
        var path = dir.Write("trailing.dat", [.. bytes, 0x00, 0x07]);
        var ex = ReadFails(path);
        Assert.AreEqual(TorchSharpFormatError.TrailingBytes, ex.Error);
        Assert.AreEqual(bytes.Length, ex.Offset);
        StringAssert.Contains(ex.Message, "2 bytes follow the last of the 6 entries");
    }

    /// <summary>One entry "w" with the given dtype code and dims (LEB128, as TorchSharp writes them), then the data.</summary>
    private static byte[] Entry(string name, byte[] code, byte[] rankAndDims, int dataBytes)
    {
        var utf8 = Encoding.UTF8.GetBytes(name);
        return [(byte)utf8.Length, .. utf8, .. code, .. rankAndDims, .. new byte[dataBytes]];
    }

    private static byte[] File1(params byte[][] entries) => [(byte)entries.Length, .. entries.SelectMany(e => e)];

    [TestMethod]
    public void DTypeCodesAreCheckedAndUnsupportedOnesNamed()
    {
        using var dir = new TempDir();
        var ok = Entry("ok", [6], [1, 2], 8);
        foreach (var (code, error, text) in new (byte[], TorchSharpFormatError, string)[]
                 {
                     ([99], TorchSharpFormatError.UnknownDType, "dtype code 99, which TorchSharp does not define"),
                     ([16], TorchSharpFormatError.UnknownDType, "dtype code 16"),
                     ([9], TorchSharpFormatError.UnsupportedDType, "ComplexFloat32"),
                     ([12], TorchSharpFormatError.UnsupportedDType, "QInt8"),
                     ([0xE7, 0x24], TorchSharpFormatError.UnsupportedDType, "dtype code 4711 = exportsd.py's code for a PyTorch dtype it cannot encode"),  // LEB128(4711)
                 })
        {
            var path = dir.Write("dtype.dat", File1(ok, Entry("w", code, [1, 2], 8)));
            var ex = ReadFails(path);
            Assert.AreEqual(error, ex.Error, ex.Message);
            Assert.AreEqual("w", ex.Entry);
            StringAssert.Contains(ex.Message, text);
            StringAssert.Contains(ex.Message, "'w' (entry 1)");
        }
    }

    [TestMethod]
    public void NegativeOverflowingAndOversizedShapesAreRefused()
    {
        using var dir = new TempDir();
        byte[] nine = Enumerable.Repeat((byte)0x80, 9).ToArray();
        foreach (var (dims, error, text) in new (byte[], TorchSharpFormatError, string)[]
                 {
                     ([1, .. nine, 0x01], TorchSharpFormatError.BadShape, "is negative (-9223372036854775808 as TorchSharp decodes it"),   // 2^63
                     ([1, .. nine, 0x02], TorchSharpFormatError.BadShape, "does not fit in 64 bits"),
                     ([2, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01], TorchSharpFormatError.BadShape, "more than 2^63 bytes"),  // [2^42, 2^42]
                     ([1, 0x80, 0x80, 0x80, 0x80, 0x01], TorchSharpFormatError.Truncated, "needs 1073741824 data bytes"),  // [2^28] float32: a valid size, but not in the file
                     ([65], TorchSharpFormatError.BadShape, "declares 65 dimensions"),
                 })
        {
            var path = dir.Write("shape.dat", File1(Entry("ok", [6], [0], 4), Entry("w", [6], dims, 16)));
            var ex = ReadFails(path);
            Assert.AreEqual(error, ex.Error, ex.Message);
            Assert.AreEqual("w", ex.Entry);
            StringAssert.Contains(ex.Message, text);
        }
    }

    [TestMethod]
    public void BadAndRepeatedNamesAreRefused()
    {
        using var dir = new TempDir();
        var ok = Entry("a.weight", [6], [0], 4);
        var dup = ReadFails(dir.Write("dup.dat", File1(ok, ok)));
        Assert.AreEqual(TorchSharpFormatError.DuplicateName, dup.Error);
        StringAssert.Contains(dup.Message, "repeats the name 'a.weight'");

        var empty = ReadFails(dir.Write("empty.dat", File1(ok, [0, 6, 0, 0, 0, 0, 0])));
        Assert.AreEqual(TorchSharpFormatError.BadName, empty.Error);
        StringAssert.Contains(empty.Message, "entry 1 has an empty name");

        var notUtf8 = ReadFails(dir.Write("utf8.dat", File1(ok, [2, 0xC3, 0x28, 6, 0, 0, 0, 0, 0])));
        Assert.AreEqual(TorchSharpFormatError.BadName, notUtf8.Error);
        StringAssert.Contains(notUtf8.Message, "not valid UTF-8 (bytes C328");
    }

    [TestMethod]
    public void OtherFormatsAreNotTorchSharpAndTheErrorSaysWhatWasExpected()
    {
        var zip = ReadFails(Fixture("dtypes.pth"));
        Assert.AreEqual(TorchSharpFormatError.NotTorchSharp, zip.Error);
        StringAssert.Contains(zip.Message, "zip archive");
        StringAssert.Contains(zip.Message, "expected TorchSharp's module.save layout: a LEB128 entry count");

        var safetensors = ReadFails(Path.Combine(AppContext.BaseDirectory, "fixtures", "pth", "state_dict.safetensors"));
        Assert.AreEqual(TorchSharpFormatError.NotTorchSharp, safetensors.Error);
        StringAssert.Contains(safetensors.Message, "safetensors");

        using var dir = new TempDir();
        Assert.AreEqual(TorchSharpFormatError.NotTorchSharp, ReadFails(dir.Write("empty.dat", [])).Error);
        Assert.AreEqual(TorchSharpFormatError.NotTorchSharp, ReadFails(dir.Write("text.dat", Encoding.ASCII.GetBytes("not a checkpoint"))).Error);
        Assert.ThrowsException<FileNotFoundException>(() => TorchSharpFormat.Read(Path.Combine(dir.Path, "absent.dat")));

        // A single 0 byte is TorchSharp's empty state dict; a 0 count followed by more is something else.
        var none = dir.Write("none.dat", [0]);
        Assert.IsTrue(TorchSharpFormat.IsTorchSharpFile(none));
        Assert.AreEqual(0, TorchSharpFormat.Read(none).Count);
        var zeroThenMore = dir.Write("zero.dat", [0, 1, 0, 0, 0, 0, 0, 0, (byte)'{']);
        Assert.IsFalse(TorchSharpFormat.IsTorchSharpFile(zeroThenMore));
        Assert.AreEqual(TorchSharpFormatError.NotTorchSharp, ReadFails(zeroThenMore).Error);

        // Damage after the first name: still recognised, so ModelWeights reports the damage.
        var damaged = dir.Write("damaged.dat", File.ReadAllBytes(Fixture("bug510.dat"))[..40]);
        Assert.IsTrue(TorchSharpFormat.IsTorchSharpFile(damaged));
        Assert.AreEqual(TorchSharpFormatError.Truncated, ReadFails(damaged).Error);
    }
}
