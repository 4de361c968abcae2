using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;
using MLNetSeg.Onnx.Imaging;
using MLNetSeg.Vision.Imaging;
using MLNetSeg.Vision.Structures;

namespace MLNetSeg.Onnx.Runtime;

/// <summary>
/// Runs an exported model (<see cref="Export.OnnxExporter"/>) on ONNX Runtime and returns the same
/// <see cref="Instances"/> the libtorch model's Predict returns: boxes, contiguous labels, scores,
/// masks as RLE at the image size, keypoints. libtorch is never loaded on this path: images are
/// decoded with SkiaSharp, the graph runs on ONNX Runtime, and masks and keypoints are finished in C#.
/// Thread-safe: one predictor serves concurrent callers.
/// </summary>
public sealed class OnnxSegmentationPredictor : IDisposable
{
    private readonly InferenceSession session;
    private readonly double maskThreshold;
    private readonly int maskSize, numKeypoints, heatmapSize;

    /// <summary>Loads <paramref name="path"/>.</summary>
    /// <exception cref="FileNotFoundException">There is no such file.</exception>
    /// <exception cref="OnnxModelException">The file is not ONNX, is damaged, or is not an MLNetSeg export.</exception>
    /// <exception cref="InvalidOperationException">CUDA was asked for without <see cref="OnnxPredictorOptions.FallbackToCpu"/> and cannot start.</exception>
    public OnnxSegmentationPredictor(string path, OnnxPredictorOptions? options = null)
    {
        ArgumentException.ThrowIfNullOrEmpty(path);
        options ??= new OnnxPredictorOptions();
        if (!File.Exists(path)) throw new FileNotFoundException($"ONNX model not found: {path}", path);
        Path = path;
        byte[] bytes = File.ReadAllBytes(path);
        (session, ExecutionProvider) = CreateSession(bytes, path, options);
        try
        {
            Info = OnnxModelInfo.FromMetadata(session.ModelMetadata.CustomMetadataMap, session.OutputMetadata.Keys, path);
            CheckInputs(path);
            maskThreshold = options.MaskThreshold ?? Info.MaskThreshold;
            if (session.OutputMetadata.TryGetValue(OnnxContract.Masks, out var masks)) maskSize = masks.Dimensions[^1];
            if (session.OutputMetadata.TryGetValue(OnnxContract.KeypointHeatmaps, out var heatmaps))
                (numKeypoints, heatmapSize) = (heatmaps.Dimensions[1], heatmaps.Dimensions[^1]);
            if ((Info.Tasks.HasFlag(SegmentationTasks.Masks) && maskSize <= 0)
                || (Info.Tasks.HasFlag(SegmentationTasks.Keypoints) && (numKeypoints <= 0 || heatmapSize <= 0)))
                throw new OnnxModelException(path, "the mask or heatmap outputs have no fixed size");
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>The file the model came from.</summary>
    public string Path { get; }

    /// <summary>Family, classes, keypoint schema and outputs of the model.</summary>
    public OnnxModelInfo Info { get; }

    /// <summary>The provider the graph actually runs on (CPU after a CUDA fallback).</summary>
    public OnnxExecutionProvider ExecutionProvider { get; }

    /// <summary>Predicts one image file (decoded with SkiaSharp).</summary>
    /// <exception cref="InvalidImageException">The file is missing or not a readable image.</exception>
    public Instances Predict(string imagePath) => Predict(SkiaImageDecoder.Read(imagePath));

    /// <summary>Predicts one 8-bit image (grey and RGBA are converted to RGB).</summary>
    public Instances Predict(Image image) => Predict(new[] { image })[0];

    /// <summary>Predicts a batch of 8-bit images of any sizes in one graph run; one result per image, in order (a semantic-only
    /// model's are empty: <see cref="PredictSegmentation(IReadOnlyList{Image})"/> gives its label maps).</summary>
    public IReadOnlyList<Instances> Predict(IReadOnlyList<Image> images)
    {
        var (rgb, detections) = RunImages(images);
        var results = new Instances[rgb.Length];
        for (int i = 0; i < rgb.Length; i++) results[i] = detections.ToInstances(i, rgb[i].Height, rgb[i].Width, maskThreshold);
        return results;
    }

    /// <summary>Everything the model makes for one image file: instances, and for the panoptic family the semantic label map and the
    /// panoptic segmentation (as the libtorch model's Predict).</summary>
    public SegmentationResult PredictSegmentation(string imagePath) => PredictSegmentation(new[] { SkiaImageDecoder.Read(imagePath) })[0];

    /// <summary>Everything the model makes for each image of a batch, in one graph run.</summary>
    public IReadOnlyList<SegmentationResult> PredictSegmentation(IReadOnlyList<Image> images)
    {
        var (rgb, detections) = RunImages(images);
        var results = new SegmentationResult[rgb.Length];
        for (int i = 0; i < rgb.Length; i++) results[i] = detections.ToResult(i, rgb[i].Height, rgb[i].Width, maskThreshold, Info.Panoptic);
        return results;
    }

    private (Image[] Rgb, OnnxDetections Detections) RunImages(IReadOnlyList<Image> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        if (images.Count == 0) return (Array.Empty<Image>(), new OnnxDetections(Array.Empty<float>(), Array.Empty<float>(), Array.Empty<long>(), Array.Empty<long>(), Array.Empty<long>()));
        var rgb = new Image[images.Count];
        for (int i = 0; i < images.Count; i++)
        {
            var image = images[i] ?? throw new ArgumentNullException(nameof(images), $"image {i} is null");
            if (image.Height <= 0 || image.Width <= 0) throw new ArgumentException($"image {i} is empty ({image.Height}×{image.Width})", nameof(images));
            rgb[i] = image.Channels == 3 ? image : image.ToRgb();
        }
        long length = rgb.Max(im => 3L * im.Height * im.Width);
        var pixels = new float[checked(rgb.Length * length)];
        var sizes = new long[2 * rgb.Length];
        Parallel.For(0, rgb.Length, i => WritePlanes(rgb[i], pixels.AsSpan(checked((int)(i * length)), checked((int)length))));
        for (int i = 0; i < rgb.Length; i++) (sizes[2 * i], sizes[2 * i + 1]) = (rgb[i].Height, rgb[i].Width);
        return (rgb, Run(pixels, sizes));
    }

    /// <summary>
    /// Runs the graph on prepared inputs (<see cref="OnnxContract"/>): <paramref name="images"/> N rows of equal length,
    /// each an image's RGB planes (0–255) then zeros; <paramref name="imageSizes"/> N (height, width) pairs.
    /// </summary>
    /// <exception cref="ArgumentException">The inputs do not fit together (the message names the input).</exception>
    public OnnxDetections Run(float[] images, long[] imageSizes)
    {
        ArgumentNullException.ThrowIfNull(images);
        ArgumentNullException.ThrowIfNull(imageSizes);
        if (imageSizes.Length == 0 || imageSizes.Length % 2 != 0)
            throw new ArgumentException($"'{OnnxContract.ImageSizes}' must hold (height, width) pairs, got {imageSizes.Length} values", nameof(imageSizes));
        int n = imageSizes.Length / 2;
        if (images.Length % n != 0)
            throw new ArgumentException($"'{OnnxContract.Images}' has {images.Length} values, not {n} rows of equal length", nameof(images));
        long rowLength = images.Length / n;
        for (int i = 0; i < n; i++)
        {
            long h = imageSizes[2 * i], w = imageSizes[2 * i + 1];
            if (h <= 0 || w <= 0 || 3 * h * w > rowLength)
                throw new ArgumentException($"'{OnnxContract.ImageSizes}' row {i} is {h}×{w}, which does not fit a row of {rowLength} values of '{OnnxContract.Images}' (3·h·w needed)",
                    nameof(imageSizes));
        }
        var inputs = new List<NamedOnnxValue>
        {
            NamedOnnxValue.CreateFromTensor(OnnxContract.Images, new DenseTensor<float>(images, new[] { n, (int)rowLength })),
            NamedOnnxValue.CreateFromTensor(OnnxContract.ImageSizes, new DenseTensor<long>(imageSizes, new[] { n, 2 })),
        };
        using var results = RunSession(inputs);
        T[] Get<T>(string name) => results.First(r => r.Name == name).AsTensor<T>().ToArray();
        float[]? semantic = null;
        var semanticShape = (Channels: 0, Height: 0, Width: 0);
        if (Info.Tasks.HasFlag(SegmentationTasks.Semantic))
        {
            var tensor = results.First(r => r.Name == OnnxContract.SemanticScores).AsTensor<float>();
            semantic = tensor.ToArray();
            semanticShape = (tensor.Dimensions[1], tensor.Dimensions[2], tensor.Dimensions[3]);
        }
        bool hasMasks = Info.Tasks.HasFlag(SegmentationTasks.Masks), hasKeypoints = Info.Tasks.HasFlag(SegmentationTasks.Keypoints);
        return new OnnxDetections(Get<float>(OnnxContract.Boxes), Get<float>(OnnxContract.Scores), Get<long>(OnnxContract.Labels),
            Get<long>(OnnxContract.BatchIndices), Get<long>(OnnxContract.ResizedSizes),
            hasMasks ? Get<float>(OnnxContract.Masks) : null, maskSize,
            hasKeypoints ? Get<float>(OnnxContract.KeypointHeatmaps) : null, hasKeypoints ? Get<float>(OnnxContract.NetworkBoxes) : null,
            numKeypoints, heatmapSize, semantic, semanticShape.Channels, semanticShape.Height, semanticShape.Width,
            Info.WindowMasks ? Get<float>(OnnxContract.MaskBoxes) : null, Info.WindowMasks ? Get<long>(OnnxContract.MaskSides) : null);
    }

    private IDisposableReadOnlyCollection<DisposableNamedOnnxValue> RunSession(IReadOnlyCollection<NamedOnnxValue> inputs)
    {
        try { return session.Run(inputs); }
        catch (OnnxRuntimeException e)
        {
            throw new InvalidOperationException($"{Path}: ONNX Runtime failed to run the graph: {e.Message}", e);
        }
    }

    /// <summary>
    /// One row of the graph's <see cref="OnnxContract.Images"/> input: RGB pixels (height × width × 3 bytes) as three
    /// planes of floats 0–255, as ML.NET's ExtractPixels writes them, into the first 3 · height · width values of
    /// <paramref name="row"/> (for <see cref="Run"/>, or a caller feeding ONNX Runtime itself).
    /// </summary>
    /// <exception cref="ArgumentException">The image is not 3-channel or the row is too short.</exception>
    public static void WritePlanes(Image rgb, Span<float> row)
    {
        ArgumentNullException.ThrowIfNull(rgb);
        if (rgb.Channels != 3) throw new ArgumentException($"WritePlanes: the image has {rgb.Channels} channels; convert it with ToRgb() first", nameof(rgb));
        if (row.Length < 3L * rgb.Height * rgb.Width)
            throw new ArgumentException($"WritePlanes: a row of {row.Length} values cannot hold a {rgb.Height}×{rgb.Width} RGB image", nameof(row));
        var src = rgb.Pixels;
        int plane = rgb.Height * rgb.Width;
        for (int p = 0; p < plane; p++)
        {
            row[p] = src[3 * p];
            row[plane + p] = src[3 * p + 1];
            row[2 * plane + p] = src[3 * p + 2];
        }
    }

    private static (InferenceSession, OnnxExecutionProvider) CreateSession(byte[] bytes, string path, OnnxPredictorOptions options)
    {
        if (options.Provider == OnnxExecutionProvider.Cuda)
        {
            try
            {
                using var cuda = SessionOptions.MakeSessionOptionWithCudaProvider(options.CudaDeviceId);
                Configure(cuda, options);
                return (Open(bytes, path, cuda), OnnxExecutionProvider.Cuda);
            }
            catch (OnnxRuntimeException e) when (options.FallbackToCpu)
            {
                (options.Log ?? (m => Console.Error.WriteLine(m)))(
                    $"MLNetSeg: the CUDA provider could not start ({FirstLine(e.Message)}); running {System.IO.Path.GetFileName(path)} on the CPU. " +
                    "The CUDA provider needs an NVIDIA GPU and the CUDA and cuDNN libraries ONNX Runtime 1.32 was built against on the library path.");
            }
            catch (OnnxRuntimeException e)
            {
                throw new InvalidOperationException($"{path}: the CUDA provider could not start ({FirstLine(e.Message)}) and FallbackToCpu is off", e);
            }
        }
        using var cpu = new SessionOptions();
        Configure(cpu, options);
        return (Open(bytes, path, cpu), OnnxExecutionProvider.Cpu);
    }

    private static void Configure(SessionOptions session, OnnxPredictorOptions options)
    {
        session.GraphOptimizationLevel = options.OptimizationLevel;
        if (options.IntraOpThreads > 0) session.IntraOpNumThreads = options.IntraOpThreads;
        session.LogSeverityLevel = OrtLoggingLevel.ORT_LOGGING_LEVEL_ERROR;
    }

    private static InferenceSession Open(byte[] bytes, string path, SessionOptions options)
    {
        try { return new InferenceSession(bytes, options); }
        catch (OnnxRuntimeException e) { throw new OnnxModelException(path, $"ONNX Runtime cannot load it ({FirstLine(e.Message)})", e); }
    }

    private void CheckInputs(string path)
    {
        var inputs = session.InputMetadata;
        void Require(string name, Type element, int rank)
        {
            if (!inputs.TryGetValue(name, out var meta))
                throw new OnnxModelException(path, $"the graph has no input \"{name}\" (inputs: {string.Join(", ", inputs.Keys)})");
            if (meta.ElementType != element || meta.Dimensions.Length != rank)
                throw new OnnxModelException(path, $"input \"{name}\" is {meta.ElementType.Name} of rank {meta.Dimensions.Length}, expected {element.Name} of rank {rank}");
        }
        Require(OnnxContract.Images, typeof(float), 2);
        Require(OnnxContract.ImageSizes, typeof(long), 2);
    }

    private static string FirstLine(string message) => message.Split('\n', 2)[0].Trim();

    /// <summary>Releases the ONNX Runtime session.</summary>
    public void Dispose() => session.Dispose();
}
