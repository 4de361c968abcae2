// MLNetSeg quickstart, as an ML.NET pipeline: Mask R-CNN trained from scratch in C# on a synthetic
// COCO-style dataset, with MLNetSeg's ML.NET components.
//
//   1. generate the "small" synthetic set (600 train / 100 val images of 256×192: textured
//      circles, squares, triangles, stars, ellipses and stick-figure persons, COCO json + PNGs)
//   2. mlContext.Data.LoadFromCoco: the annotation files as lazy IDataViews
//   3. mlContext.Segmentation().Trainers: Fit a compact Mask R-CNN (ResNet-18 FPN with BatchNorm,
//      DetectorWidths.Compact) from scratch within an 8.5-minute training budget; progress through
//      MLContext.Log and the console; checkpoints and metrics.jsonl in OUT/train
//   4. Transform the validation view and evaluate it with mlContext.Segmentation().Evaluate
//      (COCO box and mask AP, pycocotools-exact): the table is printed
//   5. mlContext.Model.Save to model.zip, Load it back, and run a PredictionEngine on held-out
//      images: overlay PNGs
//
// Usage: dotnet run --project samples/Quickstart -c Release -- [OUT]   (default out/quickstart)
// Rerunning with the same OUT reuses the data and resumes training from the last checkpoint.
// samples/TypedQuickstart is the same recipe through the typed API, without ML.NET.
using System.Diagnostics;
using System.Globalization;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Samples;
using MLNetSeg.Torch;
using MLNetSeg.Trainers;
using MLNetSeg.Training;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var outDir = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("out", "quickstart"));
var total = Stopwatch.StartNew();
Console.WriteLine($"MLNetSeg quickstart (ML.NET pipeline) -> {outDir}");
Console.WriteLine($"engine: {TorchRuntime.Version}, {TorchRuntime.BlasInfo.Split(' ')[0]}, {TorchRuntime.Threads} threads");

// 1. Data ---------------------------------------------------------------------------------------
var dataDir = Path.Combine(outDir, "data");
var (trainJson, valJson) = QuickstartRecipe.EnsureDataset(dataDir);

// 2. COCO as IDataViews ----------------------------------------------------------------------------
var ml = new MLContext(seed: 1);
var train = ml.Data.LoadFromCoco(trainJson, SyntheticDatasetGenerator.ImageDirectory(dataDir, "train"));
var val = ml.Data.LoadFromCoco(valJson, SyntheticDatasetGenerator.ImageDirectory(dataDir, "val"));
Console.WriteLine($"[2/5] LoadFromCoco: {train.GetRowCount()} training and {val.GetRowCount()} validation rows; columns " +
                  string.Join(", ", val.Schema.Select(c => $"{c.Name} ({c.Type})")));

// 3. Fit --------------------------------------------------------------------------------------------
// The recipe (samples/Shared/QuickstartRecipe.cs says why each setting): a compact Mask R-CNN
// R18-FPN from scratch within a time budget that the cosine schedule follows, so the schedule
// completes whatever the machine's speed.
var trainer = ml.Segmentation().Trainers.Segmentation(new SegmentationTrainerOptions
{
    ImageColumnName = SegmentationColumns.ImagePath,   // paths: the trainer's loader reads files in parallel
    Dataset = new() { RemoveImagesWithoutAnnotations = true },
    Training = QuickstartRecipe.Training(Path.Combine(outDir, "train"), evaluateAtEnd: false),
});
Console.WriteLine($"[3/5] Fit: a compact Mask R-CNN ResNet-18 FPN for {QuickstartRecipe.TrainingBudget.TotalMinutes:F1} minutes of training " +
                  "(checkpoints in out/.../train; Ctrl+C stops after saving one, a rerun resumes)");
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
SegmentationTransformer model;
try
{
    model = trainer.Fit(train, null, cancel.Token);
}
catch (TrainingCanceledException e)
{
    Console.WriteLine();
    Console.WriteLine(e.Message);
    return 130;
}
using var _ = model;
var run = model.Model.Summary!;
Console.WriteLine($"      {run.Iterations} iterations, {run.ImagesPerSecond:F2} training images/s, {run.TrainingTime.TotalMinutes:F1} min of training");

// 4. Transform and evaluate ---------------------------------------------------------------------------
var clockEval = Stopwatch.StartNew();
var scored = model.Transform(val);
var metrics = ml.Segmentation().Evaluate(scored);
Console.WriteLine($"[4/5] Transform + Evaluate on the {val.GetRowCount()} validation images in {clockEval.Elapsed.TotalSeconds:F1} s (AP in %, IoU .50:.95):");
Console.Write(metrics.ToTable());

// 5. Save, load, PredictionEngine ---------------------------------------------------------------------
var zip = Path.Combine(outDir, "maskrcnn_quickstart.zip");
ml.Model.Save(model, val.Schema, zip);
var loadClock = Stopwatch.StartNew();
var loaded = new MLContext().Model.Load(zip, out var inputSchema);
Console.WriteLine($"[5/5] saved the pipeline to {zip} ({new FileInfo(zip).Length / 1e6:F1} MB), loaded it back in {loadClock.Elapsed.TotalSeconds:F2} s");
VBuffer<ReadOnlyMemory<char>> keyNames = default;
loaded.GetOutputSchema(inputSchema)[SegmentationColumns.PredictedLabel].GetKeyValues(ref keyNames);
var classNames = keyNames.DenseValues().Select(n => n.ToString()).Prepend("__background__").ToArray();
using var engine = ml.Model.CreatePredictionEngine<ImageFile, SegmentationPrediction>(loaded);
var predictionsDir = Path.Combine(outDir, "predictions");
Directory.CreateDirectory(predictionsDir);
var held = ml.Data.CreateEnumerable<ImageFile>(val, reuseRowObject: false).Take(6).ToArray();
foreach (var file in held)
{
    var prediction = engine.Predict(file);
    var image = ImageIO.Read(file.ImagePath);
    var detections = prediction.ToInstances(image.Height, image.Width).WithMinimumScore(QuickstartRecipe.OverlayScore);
    var overlay = Path.Combine(predictionsDir, Path.GetFileNameWithoutExtension(file.ImagePath) + "_prediction.png");
    ImageIO.WritePng(Visualizer.Draw(image, detections, classNames), overlay);
    var found = detections.Labels.GroupBy(l => classNames[l]).Select(g => $"{g.Count()} {g.Key}");
    Console.WriteLine($"      {Path.GetFileName(file.ImagePath)}: {detections.Count} instance(s) with score ≥ {QuickstartRecipe.OverlayScore} ({string.Join(", ", found)}) -> {overlay}");
}

Console.WriteLine();
Console.WriteLine($"done in {total.Elapsed.TotalMinutes:F1} min. Outputs:");
Console.WriteLine($"  data         {dataDir}");
Console.WriteLine($"  checkpoints  {Path.Combine(outDir, "train")} (model_final.mlseg, checkpoint_*.ckpt, metrics.jsonl)");
Console.WriteLine($"  pipeline     {zip}");
Console.WriteLine($"  overlays     {predictionsDir}");
return 0;

/// <summary>PredictionEngine input: the column LoadFromCoco gives and the pipeline was fitted on.</summary>
internal sealed class ImageFile
{
    public string ImagePath { get; set; } = "";
}
