using System.Text.Json.Nodes;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;

namespace MLNetSeg.Tests.Shared;

/// <summary>
/// The Tiny synthetic dataset (16 train / 8 val images of 128×96, from the synthetic generator,
/// deterministic by seed) in a temporary folder. Linked into each test project that trains or runs the CLI on it.
/// </summary>
internal sealed class TinyDataset : IDisposable
{
    private static readonly Lazy<TinyDataset> SharedInstance = new(() => new TinyDataset());

    private readonly TempDir _dir = new();

    /// <summary>One Tiny set for the whole test assembly, generated on first use and removed after the
    /// last test (<see cref="SharedTinyDatasetCleanup"/>). Tests only read it; a test that damages
    /// files works on a <see cref="SubsetCopy"/>.</summary>
    public static TinyDataset Shared => SharedInstance.Value;

    internal static void DisposeShared()
    {
        if (SharedInstance.IsValueCreated) SharedInstance.Value.Dispose();
    }

    public TinyDataset() => SyntheticDatasetGenerator.Generate(SyntheticOptions.Tiny with { MaxDegreeOfParallelism = 1 }, Root);

    public string Root => _dir.Path;

    public string TrainJson => SyntheticDatasetGenerator.InstancesJsonPath(Root, "train");

    public string TrainImages => SyntheticDatasetGenerator.ImageDirectory(Root, "train");

    public DetectionDataset Train() => DetectionDataset.Load(TrainJson, TrainImages);

    public DetectionDataset Validation() => DetectionDataset.Load(
        SyntheticDatasetGenerator.InstancesJsonPath(Root, "val"), SyntheticDatasetGenerator.ImageDirectory(Root, "val"));

    /// <summary>A copy of the training split holding only <paramref name="count"/> images (the
    /// first by id), with its own image folder, so a test can damage files.</summary>
    public (string Json, string Images) SubsetCopy(string directory, int count)
    {
        var images = Path.Combine(directory, "images");
        Directory.CreateDirectory(images);
        var coco = JsonNode.Parse(File.ReadAllText(TrainJson))!.AsObject();
        var kept = coco["images"]!.AsArray().OrderBy(i => (long)i!["id"]!).Take(count).Select(i => i!.DeepClone()).ToArray();
        var ids = kept.Select(i => (long)i["id"]!).ToHashSet();
        coco["images"] = new JsonArray(kept);
        coco["annotations"] = new JsonArray(coco["annotations"]!.AsArray().Where(a => ids.Contains((long)a!["image_id"]!)).Select(a => a!.DeepClone()).ToArray());
        foreach (var image in kept)
        {
            var name = (string)image["file_name"]!;
            File.Copy(Path.Combine(TrainImages, name), Path.Combine(images, name));
        }
        var json = Path.Combine(directory, "instances.json");
        File.WriteAllText(json, coco.ToJsonString());
        return (json, images);
    }

    public void Dispose() => _dir.Dispose();
}

/// <summary>A temporary folder removed on dispose.</summary>
internal sealed class TempDir : IDisposable
{
    public TempDir() => Directory.CreateDirectory(Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"mlnetseg-t4-{Guid.NewGuid():N}"));

    public string Path { get; }

    public string Sub(string name) => System.IO.Path.Combine(Path, name);

    public void Dispose()
    {
        try { Directory.Delete(Path, recursive: true); } catch (IOException) { }
    }
}

[TestClass]
public static class SharedTinyDatasetCleanup
{
    [AssemblyCleanup]
    public static void Remove() => TinyDataset.DisposeShared();
}
