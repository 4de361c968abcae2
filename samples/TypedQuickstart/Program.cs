// MLNetSeg typed quickstart (no ML.NET): Mask R-CNN trained from scratch in C# on a synthetic COCO-style dataset,
// through the typed API underneath the ML.NET components (samples/Quickstart is the ML.NET pipeline).
//
//   1. generate the "small" synthetic set (600 train / 100 val images of 256×192: textured
//      circles, squares, triangles, stars, ellipses and stick-figure persons, COCO json + PNGs)
//   2. train a compact Mask R-CNN (ResNet-18 FPN with BatchNorm, DetectorWidths.Compact: a quarter of
//      torchvision's FPN/head channels) from scratch with MaskRcnnTrainer: SGD, warmup + a cosine
//      schedule that follows an 8.5-minute training budget, checkpoints and metrics.jsonl in
//      OUT/train, a loss-curve SVG
//   3. evaluate on the validation split (COCO box and mask AP, pycocotools-exact)
//   4. predict on held-out images and write overlay PNGs
//   5. save the model as a .mlseg file and load it back
//
// Usage: dotnet run --project samples/TypedQuickstart -c Release -- [OUT]   (default out/typed-quickstart)
// Rerunning with the same OUT reuses the data and resumes from the last checkpoint.
using System.Diagnostics;
using System.Globalization;
using MLNetSeg.Data.Loading;
using MLNetSeg.Data.Synthetic;
using MLNetSeg.Samples;
using MLNetSeg.Torch;
using MLNetSeg.Training;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
var outDir = Path.GetFullPath(args.Length > 0 ? args[0] : Path.Combine("out", "typed-quickstart"));
var total = Stopwatch.StartNew();
Console.WriteLine($"MLNetSeg quickstart -> {outDir}");
Console.WriteLine($"engine: {TorchRuntime.Version}, {TorchRuntime.BlasInfo.Split(' ')[0]}, {TorchRuntime.Threads} threads");

// 1. Data ---------------------------------------------------------------------------------------
var dataDir = Path.Combine(outDir, "data");
var (trainJson, valJson) = QuickstartRecipe.EnsureDataset(dataDir);
var train = DetectionDataset.Load(trainJson, SyntheticDatasetGenerator.ImageDirectory(dataDir, "train"),
    new DetectionDatasetOptions { RemoveImagesWithoutAnnotations = true });
var val = DetectionDataset.Load(valJson, SyntheticDatasetGenerator.ImageDirectory(dataDir, "val"));

// 2. Train --------------------------------------------------------------------------------------
// The recipe (samples/Shared/QuickstartRecipe.cs says why each setting): a compact Mask R-CNN
// R18-FPN from scratch within a time budget that the cosine schedule follows.
var options = QuickstartRecipe.Training(Path.Combine(outDir, "train"), evaluateAtEnd: true);
Console.WriteLine($"[2/5] training a compact Mask R-CNN ResNet-18 FPN for {QuickstartRecipe.TrainingBudget.TotalMinutes:F1} minutes of {options.Data.BatchSize}-image steps " +
                  $"(checkpoints in {options.Checkpoints.Directory}; Ctrl+C stops after saving one, a rerun resumes)");
using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) => { e.Cancel = true; cancel.Cancel(); };
TrainedModel detector;
try
{
    detector = new MaskRcnnTrainer(options).Fit(train, val, cancel.Token);
}
catch (TrainingCanceledException e)
{
    Console.WriteLine();
    Console.WriteLine(e.Message);
    return 130;
}
using var _ = detector;
var run = detector.Summary!;
Console.WriteLine($"      {run.Iterations} iterations, {run.ImagesPerSecond:F2} training images/s, {run.TrainingTime.TotalMinutes:F1} min of training " +
                  $"({run.Elapsed.TotalMinutes:F1} min for this run, evaluation included)");

var curvePath = Path.Combine(outDir, "training_curve.svg");
LossCurve.WriteSvg(MetricsLog.Read(Path.Combine(options.Checkpoints.Directory!, MetricsLog.FileName)), curvePath,
    "Quickstart: compact Mask R-CNN R18-FPN, synthetic small");
Console.WriteLine($"      loss curve: {curvePath}");

// 3. Evaluate -----------------------------------------------------------------------------------
var evaluation = run.Evaluation!;
Console.WriteLine($"[3/5] COCO evaluation on the {val.Count} validation images (AP in %, IoU .50:.95):");
Console.Write(evaluation.ToTable());
double boxAp = evaluation.Bbox!.Stats[0], maskAp = evaluation.Segm!.Stats[0];
Console.WriteLine($"      box AP {boxAp * 100:F1}, mask AP {maskAp * 100:F1}");
Console.WriteLine("      per-category mask AP: " + string.Join(", ",
    evaluation.Segm.PerCategoryAp.Select(c => $"{c.Name} {c.Ap * 100:F1}")));

// 4. Predict on held-out images ------------------------------------------------------------------
var predictionsDir = Path.Combine(outDir, "predictions");
Directory.CreateDirectory(predictionsDir);
var held = Enumerable.Range(0, Math.Min(6, val.Count)).Select(val.ImagePath).ToArray();
var predictClock = Stopwatch.StartNew();
for (int i = 0; i < held.Length; i++)
{
    var image = ImageIO.Read(held[i]);
    var detections = detector.Predict(image).Instances!.WithMinimumScore(QuickstartRecipe.OverlayScore);
    var overlay = Path.Combine(predictionsDir, Path.GetFileNameWithoutExtension(held[i]) + "_prediction.png");
    ImageIO.WritePng(detector.Draw(image, new SegmentationResult(detections)), overlay);
    var found = detections.Labels.GroupBy(l => detector.ClassNames[l]).Select(g => $"{g.Count()} {g.Key}");
    Console.WriteLine($"      {Path.GetFileName(held[i])}: {detections.Count} instance(s) with score ≥ {QuickstartRecipe.OverlayScore} ({string.Join(", ", found)}) -> {overlay}");
}
Console.WriteLine($"[4/5] wrote {held.Length} overlays in {predictClock.Elapsed.TotalSeconds:F1} s");

// 5. Save and reload ----------------------------------------------------------------------------
var modelPath = Path.Combine(outDir, "maskrcnn_resnet18_quickstart.mlseg");
detector.Save(modelPath);
using (var reloaded = TrainedModel.Load(modelPath))
{
    var image = ImageIO.Read(held[0]);
    int again = reloaded.Predict(image).Instances!.Count, before = detector.Predict(image).Instances!.Count;
    if (again != before) throw new InvalidOperationException($"the reloaded model found {again} instances, the trained one {before}");
}
Console.WriteLine($"[5/5] saved the model to {modelPath} ({new FileInfo(modelPath).Length / 1e6:F0} MB) and reloaded it");

Console.WriteLine();
Console.WriteLine($"done in {total.Elapsed.TotalMinutes:F1} min. Outputs:");
Console.WriteLine($"  data         {dataDir}");
Console.WriteLine($"  checkpoints  {options.Checkpoints.Directory} (best.mlseg, model_final.mlseg, checkpoint_*.ckpt, metrics.jsonl)");
Console.WriteLine($"  loss curve   {curvePath}");
Console.WriteLine($"  overlays     {predictionsDir}");
Console.WriteLine($"  model        {modelPath}");
Console.WriteLine($"  try: dotnet run --project src/Cli -c Release -- predict --model {modelPath} --images {SyntheticDatasetGenerator.ImageDirectory(dataDir, "val")} --out {Path.Combine(outDir, "cli_predictions")}");
return 0;
