using System.Diagnostics;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Coco;

namespace MLNetSeg.Transforms.Tests.Data;

/// <summary>
/// Load time and a full cursor pass over the label columns (masks not read) for a large generated
/// COCO json. MLNETSEG_COCO_VIEW_IMAGES sets the image count (default 20 000; 100 000 for the
/// figure in the report), so the test stays a few seconds long by default.
/// </summary>
[TestClass]
public sealed class CocoDataViewScaleTests
{
    public TestContext TestContext { get; set; } = null!;

    [TestMethod]
    public void ALargeJsonLoadsAndStreamsQuickly()
    {
        int imageCount = int.TryParse(Environment.GetEnvironmentVariable("MLNETSEG_COCO_VIEW_IMAGES"), out int n) ? n : 20_000;
        const int objectsPerImage = 7;
        using var dir = new TempDir();
        var file = dir.Sub("large.json");
        var write = Stopwatch.StartNew();
        WriteJson(file, imageCount, objectsPerImage);
        write.Stop();

        var ml = new MLContext(seed: 1);
        var load = Stopwatch.StartNew();
        var view = ml.Data.LoadFromCoco(file, dir.Sub("images"));
        load.Stop();
        var pass = Stopwatch.StartNew();
        var columns = view.Schema.Where(c => c.Name != SegmentationColumns.Masks).ToArray();
        using var cursor = view.GetRowCursor(columns);
        var path = cursor.GetGetter<ReadOnlyMemory<char>>(view.Schema["ImagePath"]);
        var id = cursor.GetGetter<long>(view.Schema["ImageId"]);
        var width = cursor.GetGetter<int>(view.Schema["Width"]);
        var label = cursor.GetGetter<VBuffer<uint>>(view.Schema["Label"]);
        var boxes = cursor.GetGetter<VBuffer<float>>(view.Schema["BoundingBoxes"]);
        var crowd = cursor.GetGetter<VBuffer<bool>>(view.Schema["IsCrowd"]);
        var area = cursor.GetGetter<VBuffer<double>>(view.Schema["Area"]);
        ReadOnlyMemory<char> p = default;
        long i = 0, rows = 0, labelSum = 0;
        int w = 0;
        VBuffer<uint> l = default;
        VBuffer<float> b = default;
        VBuffer<bool> c = default;
        VBuffer<double> a = default;
        double boxSum = 0;
        while (cursor.MoveNext())
        {
            path(ref p);
            id(ref i);
            width(ref w);
            label(ref l);
            boxes(ref b);
            crowd(ref c);
            area(ref a);
            foreach (var v in l.DenseValues()) labelSum += v;
            foreach (var v in b.DenseValues()) boxSum += v;
            rows++;
        }
        pass.Stop();

        TestContext.WriteLine(
            $"{imageCount} images, {imageCount * objectsPerImage} objects ({new FileInfo(file).Length / 1e6:F1} MB json): " +
            $"write {write.Elapsed.TotalSeconds:F2} s, LoadFromCoco {load.Elapsed.TotalSeconds:F2} s, " +
            $"cursor pass over {columns.Length} columns {pass.Elapsed.TotalSeconds:F2} s");
        Assert.AreEqual(imageCount, rows);
        // Every object's label is 1 + (object index mod 5) and its box [10, 10, 15, 15] sums to 50 (see WriteJson).
        Assert.AreEqual((long)imageCount * Enumerable.Range(0, objectsPerImage).Sum(k => 1 + k % 5), labelSum);
        Assert.AreEqual(50.0 * imageCount * objectsPerImage, boxSum, 1e-6 * boxSum);
        // Generous bounds (a shared 2-core machine): a linear-time loader is far below them.
        Assert.IsTrue(load.Elapsed.TotalSeconds < 0.5e-3 * imageCount, $"LoadFromCoco took {load.Elapsed.TotalSeconds:F2} s");
        Assert.IsTrue(pass.Elapsed.TotalSeconds < 0.25e-3 * imageCount, $"the cursor pass took {pass.Elapsed.TotalSeconds:F2} s");
    }

    /// <summary>COCO-sized images with polygon objects, written through CocoDataset (what every COCO file loaded here passes).</summary>
    private static void WriteJson(string file, int imageCount, int objectsPerImage)
    {
        var images = new List<CocoImage>(imageCount);
        var annotations = new List<CocoAnnotation>(imageCount * objectsPerImage);
        var categories = Enumerable.Range(1, 5).Select(k => new CocoCategory { Id = 10 * k, Name = $"class{k}" }).ToList();
        long annotationId = 1;
        for (int i = 0; i < imageCount; i++)
        {
            long imageId = 1 + 3L * i;
            images.Add(new CocoImage { Id = imageId, Width = 640, Height = 480, FileName = $"{imageId:D12}.jpg" });
            for (int k = 0; k < objectsPerImage; k++)
            {
                annotations.Add(new CocoAnnotation
                {
                    Id = annotationId++,
                    ImageId = imageId,
                    CategoryId = 10 * (1 + k % 5),
                    Bbox = [10, 10, 5, 5],
                    Area = 25,
                    Segmentation = new CocoPolygons([[10, 10, 15, 10, 15, 15, 12.5, 17, 10, 15]]),
                });
            }
        }
        new CocoDataset(images, categories, annotations, file).Save(file);
    }
}
