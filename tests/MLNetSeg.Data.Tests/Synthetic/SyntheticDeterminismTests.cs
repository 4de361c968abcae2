using System.Security.Cryptography;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MLNetSeg.Data.Synthetic;

namespace MLNetSeg.Data.Tests.Synthetic;

/// <summary>
/// Reproducibility of the synthetic dataset: the whole output tree (images, label maps, json) is
/// compared file by file through SHA-256, so "identical" means byte-identical.
/// </summary>
[TestClass]
public sealed class SyntheticDeterminismTests
{
    private static readonly string LabelsJson = Path.Combine("semantic", "labels.json");
    private readonly List<string> _folders = [];

    [TestCleanup]
    public void DeleteFolders()
    {
        foreach (var f in _folders) if (Directory.Exists(f)) Directory.Delete(f, recursive: true);
    }

    private string Generate(SyntheticOptions options)
    {
        var root = Directory.CreateTempSubdirectory("mlnetseg-synthetic-det-").FullName;
        _folders.Add(root);
        SyntheticDatasetGenerator.Generate(options, root);
        return root;
    }

    private static SortedDictionary<string, string> HashTree(string root)
    {
        var hashes = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var file in Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories))
            hashes[Path.GetRelativePath(root, file)] = Convert.ToHexString(SHA256.HashData(File.ReadAllBytes(file)));
        return hashes;
    }

    [TestMethod]
    public void SameSeedGivesByteIdenticalFilesWithOneOrManyThreadsAndAnotherSeedDoesNot()
    {
        var oneThread = HashTree(Generate(SyntheticOptions.Tiny with { MaxDegreeOfParallelism = 1 }));
        var fourThreads = HashTree(Generate(SyntheticOptions.Tiny with { MaxDegreeOfParallelism = 4 }));
        var otherSeed = HashTree(Generate(SyntheticOptions.Tiny with { Seed = 2, MaxDegreeOfParallelism = 4 }));

        // 4 json files, labels.json, 24 images and 24 label maps; no temporary files left behind.
        Assert.AreEqual(4 + 1 + 2 * (16 + 8), oneThread.Count, string.Join("\n", oneThread.Keys));
        CollectionAssert.AreEqual(oneThread.Keys.ToArray(), fourThreads.Keys.ToArray());
        foreach (var (path, hash) in oneThread)
            Assert.AreEqual(hash, fourThreads[path], $"{path} differs between 1 and 4 threads");

        CollectionAssert.AreEqual(oneThread.Keys.ToArray(), otherSeed.Keys.ToArray(), "another seed writes the same files");
        int differing = oneThread.Count(kv => kv.Value != otherSeed[kv.Key]);
        // Only labels.json (the class list) does not depend on the seed.
        Assert.AreEqual(oneThread.Count - 1, differing, "every image, label map and annotation file must change with the seed");
        Assert.AreEqual(oneThread[LabelsJson], otherSeed[LabelsJson]);
    }

    [TestMethod]
    public void BadOptionsAreRejectedByNameBeforeAnythingIsWritten()
    {
        var root = Path.Combine(Path.GetTempPath(), $"mlnetseg-synthetic-bad-{Guid.NewGuid():N}");
        _folders.Add(root);
        var cases = new (SyntheticOptions Options, string Option)[]
        {
            (SyntheticOptions.Tiny with { Width = 10 }, "Width"),
            (SyntheticOptions.Tiny with { Height = 100_000 }, "Height"),
            (SyntheticOptions.Tiny with { TrainImages = -1 }, "TrainImages"),
            (SyntheticOptions.Tiny with { TrainImages = 0, ValImages = 0 }, "TrainImages"),
            (SyntheticOptions.Tiny with { MinShapes = 5, MaxShapes = 2 }, "MaxShapes"),
            (SyntheticOptions.Tiny with { PersonProbability = 1.5 }, "PersonProbability"),
            (SyntheticOptions.Tiny with { SmallWeight = 0, MediumWeight = 0, LargeWeight = 0 }, "SmallWeight"),
            (SyntheticOptions.Tiny with { MinVisibleFraction = 0 }, "MinVisibleFraction"),
            (SyntheticOptions.Tiny with { MaxDegreeOfParallelism = 0 }, "MaxDegreeOfParallelism"),
        };
        foreach (var (options, option) in cases)
        {
            var e = Assert.ThrowsException<ArgumentException>(() => SyntheticDatasetGenerator.Generate(options, root), option);
            StringAssert.Contains(e.Message, $"SyntheticOptions.{option}");
            Assert.AreEqual(option, e.ParamName);
        }
        Assert.IsFalse(Directory.Exists(root), "invalid options must not create the output folder");

        var preset = Assert.ThrowsException<ArgumentException>(() => SyntheticOptions.FromPreset("huge"));
        StringAssert.Contains(preset.Message, "'huge'");
        StringAssert.Contains(preset.Message, "tiny, small, full");
        Assert.AreSame(SyntheticOptions.Small, SyntheticOptions.FromPreset("SMALL"));
    }
}
