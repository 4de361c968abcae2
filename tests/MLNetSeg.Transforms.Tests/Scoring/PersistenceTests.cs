using System.Diagnostics;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Training;
using static MLNetSeg.Transforms.Tests.Scoring.TransformerTests;

namespace MLNetSeg.Transforms.Tests.Scoring;

/// <summary>model.zip: save a whole pipeline (LoadImages → our transformer), load it in a fresh
/// MLContext and in a fresh process, and get identical outputs; broken zips fail clearly.</summary>
[TestClass]
public sealed class PersistenceTests
{
    private static TrainedModel _model = null!;
    private static string[] _paths = null!;

    [ClassInitialize]
    public static void Init(TestContext _)
    {
        var val = TinyDataset.Shared.Validation();
        _model = ModelFixtures.MaskRcnn(TinyDataset.Shared.Train(), seed: 5);
        _paths = Enumerable.Range(0, 4).Select(val.ImagePath).ToArray();
    }

    [ClassCleanup]
    public static void Cleanup() => _model?.Dispose();

    private static (ITransformer Pipeline, IDataView Paths) Fit(MLContext ml)
    {
        var paths = Paths(ml, _paths);
        var pipeline = ml.Transforms.LoadImages("Image", imageFolder: null, inputColumnName: "ImagePath")
            .Append(ml.Transforms.ApplySegmentationModel(_model));
        return (pipeline.Fit(paths), paths);
    }

    [TestMethod]
    public void SavedPipelineLoadsInAFreshContextWithIdenticalOutputs()
    {
        using var dir = new TempDir();
        var zip = Path.Combine(dir.Path, "model.zip");
        var ml = new MLContext(seed: 1);
        var (pipeline, paths) = Fit(ml);
        var expected = ReadOutputs(pipeline.Transform(paths));
        Assert.IsTrue(expected.Sum(r => r.Labels.Length) > 0, "no detections to compare");
        ml.Model.Save(pipeline, paths.Schema, zip);

        var fresh = new MLContext(seed: 2);
        var loaded = fresh.Model.Load(zip, out var schema);
        Assert.AreEqual("ImagePath", schema[0].Name);
        int parses = MLNetSeg.Transforms.Persistence.ModelState.Parses;
        var again = ReadOutputs(loaded.Transform(Paths(fresh, _paths)));
        Assert.AreEqual(parses + 1, MLNetSeg.Transforms.Persistence.ModelState.Parses, "the model is rebuilt once per loaded pipeline, not per row");
        Assert.AreEqual(expected.Count, again.Count);
        for (int i = 0; i < expected.Count; i++) again[i].AssertEqual(expected[i], $"row {i}");

        // The loaded pipeline's schema matches the original's: key type, class names, no temporaries.
        var original = pipeline.GetOutputSchema(paths.Schema);
        var reloaded = loaded.GetOutputSchema(schema);
        CollectionAssert.AreEqual(original.Select(c => c.Name).ToArray(), reloaded.Select(c => c.Name).ToArray());
        for (int i = 0; i < original.Count; i++) Assert.AreEqual(original[i].Type, reloaded[i].Type, original[i].Name);
        VBuffer<ReadOnlyMemory<char>> names = default;
        reloaded["PredictedLabel"].GetKeyValues(ref names);
        CollectionAssert.AreEqual(_model.ClassNames.Skip(1).ToArray(), names.DenseValues().Select(n => n.ToString()).ToArray());

        // Size: the .mlseg travels as base64 inside the zip, which deflate squeezes back.
        var mlseg = Path.Combine(dir.Path, "model.mlseg");
        _model.Save(mlseg);
        double ratio = new FileInfo(zip).Length / (double)new FileInfo(mlseg).Length;
        Console.WriteLine($"zip {new FileInfo(zip).Length} bytes, .mlseg {new FileInfo(mlseg).Length} bytes, ratio {ratio:F3}");
        Assert.IsTrue(ratio < 1.2, $"zip is {ratio:F2}x the .mlseg file");
    }

    [TestMethod]
    public void SavedPipelineLoadsInAFreshProcess()
    {
        using var dir = new TempDir();
        var zip = Path.Combine(dir.Path, "model.zip");
        var ml = new MLContext(seed: 1);
        var (pipeline, paths) = Fit(ml);
        var expected = ReadOutputs(pipeline.Transform(paths));
        ml.Model.Save(pipeline, paths.Schema, zip);

        var tool = Path.GetFullPath(Path.Combine(AppContext.BaseDirectory, "..", "..", "..", "..", "Tools", "ZipScore", "bin", "Release", "net10.0", "ZipScore.dll"));
        Assert.IsTrue(File.Exists(tool), $"test helper not built: {tool}");
        var start = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { tool, zip }.Concat(_paths)) start.ArgumentList.Add(a);
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEnd();
        var errors = process.StandardError.ReadToEnd();
        process.WaitForExit();
        Assert.AreEqual(0, process.ExitCode, errors);
        var lines = output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.AreEqual(expected.Count, lines.Length, output + errors);
        for (int i = 0; i < lines.Length; i++)
        {
            using var row = JsonDocument.Parse(lines[i]);
            var got = new Detections(
                row.RootElement.GetProperty("labels").EnumerateArray().Select(v => v.GetUInt32()).ToArray(),
                row.RootElement.GetProperty("scores").EnumerateArray().Select(v => BitConverter.Int32BitsToSingle(v.GetInt32())).ToArray(),
                row.RootElement.GetProperty("boxes").EnumerateArray().Select(v => BitConverter.Int32BitsToSingle(v.GetInt32())).ToArray(),
                row.RootElement.GetProperty("masks").EnumerateArray().Select(v => v.GetString()!).ToArray());
            got.AssertEqual(expected[i], $"fresh process, row {i}");
        }
    }

    [TestMethod]
    public void DamagedZipsFailClearly()
    {
        using var dir = new TempDir();
        var zip = Path.Combine(dir.Path, "model.zip");
        var ml = new MLContext(seed: 1);
        var (pipeline, paths) = Fit(ml);
        ml.Model.Save(pipeline, paths.Schema, zip);

        // Truncated zip: ML.NET's own error, a managed exception.
        var truncated = Path.Combine(dir.Path, "truncated.zip");
        var bytes = File.ReadAllBytes(zip);
        File.WriteAllBytes(truncated, bytes[..(bytes.Length / 2)]);
        Assert.ThrowsException<FormatException>(() => ml.Model.Load(truncated, out _));

        // A zip whose model entry (the map holding the model state) is missing.
        var missing = Path.Combine(dir.Path, "missing.zip");
        File.Copy(zip, missing);
        using (var archive = System.IO.Compression.ZipFile.Open(missing, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entries = archive.Entries.Where(e => e.FullName.EndsWith("DefaultMap.idv", StringComparison.Ordinal)).ToList();
            Assert.IsTrue(entries.Count > 0, string.Join(", ", archive.Entries.Select(e => e.FullName)));
            foreach (var entry in entries) entry.Delete();
        }
        // ML.NET's own error ("Error during class instantiation"), a managed exception.
        Assert.ThrowsException<InvalidOperationException>(() => ml.Model.Load(missing, out _));

        // A corrupt model entry.
        var corrupt = Path.Combine(dir.Path, "corrupt.zip");
        File.Copy(zip, corrupt);
        using (var archive = System.IO.Compression.ZipFile.Open(corrupt, System.IO.Compression.ZipArchiveMode.Update))
        {
            var entry = archive.Entries.Single(e => e.FullName.EndsWith("DefaultMap.idv", StringComparison.Ordinal));
            var name = entry.FullName;
            entry.Delete();
            using var stream = archive.CreateEntry(name).Open();
            stream.Write(new byte[] { 1, 2, 3, 4, 5, 6, 7, 8 });
        }
        Assert.ThrowsException<InvalidOperationException>(() => ml.Model.Load(corrupt, out _));

        // A damaged model state: loads (the state is data) but scoring names the problem.
        var damaged = Path.Combine(dir.Path, "damaged.zip");
        File.Copy(zip, damaged);
        int replaced = DamageModelState(damaged);
        Assert.IsTrue(replaced > 0, "found no model state to damage");
        var loaded = ml.Model.Load(damaged, out _);
        var scored = loaded.Transform(Paths(ml, _paths.Take(1)));
        // ML.NET runs a loaded CustomMapping on worker cursors and wraps what they throw.
        var error = Assert.ThrowsException<InvalidOperationException>(() => ReadOutputs(scored));
        var cause = error.InnerException as InvalidDataException;
        Assert.IsNotNull(cause, error.ToString());
        StringAssert.Contains(cause.Message, "the saved MLNetSeg model is damaged");
    }

    /// <summary>Rewrites the MapValue's stored model text with one whose base64 is broken (keeps the zip valid).</summary>
    private static int DamageModelState(string zip)
    {
        var ml = new MLContext();
        var loaded = (TransformerChain<ITransformer>)ml.Model.Load(zip, out var schema);
        // Rebuild the chain with a damaged state: find the segmentation chain and swap its MapValue.
        var inner = loaded.OfType<TransformerChain<ITransformer>>().Single();
        var steps = inner.ToList();
        int index = steps.FindIndex(t => t.GetType().Name.StartsWith("ValueMappingTransformer", StringComparison.Ordinal));
        if (index < 0) return 0;
        var data = new MLNetSeg.Transforms.Persistence.EmptyDataView(steps.Take(index).Aggregate(
            loaded.First().GetOutputSchema(schema), (s, t) => t.GetOutputSchema(s)));
        steps[index] = ml.Transforms.Conversion.MapValue("__mlnetseg_model",
            new[] { new KeyValuePair<string, string>("model", "mlnetseg.mlnet/1\n{\"ScoreThreshold\":0,\"BatchSize\":1}\n!!!not base64!!!") },
            "__mlnetseg_model_key").Fit(data);
        var rebuilt = new TransformerChain<ITransformer>(new ITransformer[] { loaded.First(), new TransformerChain<ITransformer>(steps.ToArray()) });
        ml.Model.Save(rebuilt, schema, zip);
        return 1;
    }

    [TestMethod]
    public void PredictionEngineMatchesTheTransformBeforeAndAfterLoading()
    {
        using var dir = new TempDir();
        var zip = Path.Combine(dir.Path, "model.zip");
        var ml = new MLContext(seed: 1);
        var images = Paths(ml, _paths);
        var input = ml.Data.LoadFromEnumerable(new[] { new SegmentationPathInput { Image = _paths[0] } });
        using var transformer = ml.Transforms.ApplySegmentationModel(_model).Fit(input);
        var expected = _paths.Select(p => Typed(_model, p)).ToArray();

        using (var engine = ml.Model.CreatePredictionEngine<SegmentationPathInput, SegmentationPrediction>(transformer))
            for (int i = 0; i < _paths.Length; i++)
                AsDetections(engine.Predict(new SegmentationPathInput { Image = _paths[i] })).AssertEqual(expected[i], $"engine, image {i}");

        ml.Model.Save(transformer, input.Schema, zip);
        var loaded = new MLContext().Model.Load(zip, out _);
        using (var engine = ml.Model.CreatePredictionEngine<SegmentationPathInput, SegmentationPrediction>(loaded))
            for (int i = 0; i < _paths.Length; i++)
                AsDetections(engine.Predict(new SegmentationPathInput { Image = _paths[i] })).AssertEqual(expected[i], $"loaded engine, image {i}");

        // MLImage input too.
        using var mlImage = MLImage.CreateFromFile(_paths[1]);
        using var imageTransformer = ml.Transforms.ApplySegmentationModel(_model).Fit(
            ml.Transforms.LoadImages("Image", null, "ImagePath").Fit(images).Transform(images));
        using var imageEngine = ml.Model.CreatePredictionEngine<SegmentationImageInput, SegmentationPrediction>(imageTransformer);
        var prediction = imageEngine.Predict(new SegmentationImageInput { Image = mlImage });
        AsDetections(prediction).AssertEqual(expected[1], "MLImage engine");
        var instances = prediction.ToInstances(mlImage.Height, mlImage.Width);
        Assert.AreEqual(prediction.Count, instances.Count);
    }

    internal static Detections AsDetections(SegmentationPrediction p) => new(p.PredictedLabel, p.Score, p.PredictedBoundingBoxes, p.PredictedMasks);

    [TestMethod]
    public void PooledPredictorGivesSequentialResultsFromEightThreads()
    {
        var ml = new MLContext(seed: 1);
        using var transformer = ml.Transforms.ApplySegmentationModel(_model).Fit(
            ml.Data.LoadFromEnumerable(new[] { new SegmentationPathInput { Image = _paths[0] } }));
        var expected = _paths.Select(p => Typed(_model, p)).ToArray();
        using var pool = new SegmentationPredictorPool<SegmentationPathInput, SegmentationPrediction>(ml, transformer);
        const int threads = 8, perThread = 200;
        var failures = new System.Collections.Concurrent.ConcurrentQueue<string>();
        int done = 0;
        var workers = Enumerable.Range(0, threads).Select(t => new Thread(() =>
        {
            for (int k = 0; k < perThread; k++)
            {
                int i = (t + k) % _paths.Length;
                try { AsDetections(pool.Predict(new SegmentationPathInput { Image = _paths[i] })).AssertEqual(expected[i], $"thread {t} call {k}"); }
                catch (Exception e) { failures.Enqueue(e.Message); }
                Interlocked.Increment(ref done);
            }
        })).ToArray();
        foreach (var w in workers) w.Start();
        foreach (var w in workers) w.Join();
        Assert.AreEqual(threads * perThread, done);
        Assert.AreEqual(0, failures.Count, string.Join("\n", failures.Take(3)));
        Assert.IsTrue(pool.EngineCount is > 1 and <= threads + 1, $"{pool.EngineCount} engines");
    }
}
