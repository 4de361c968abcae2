using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Onnx;
using MLNetSeg.Onnx.Imaging;
using MLNetSeg.Onnx.Runtime;
using MLNetSeg.Transforms.Scoring;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Transforms;

/// <summary>
/// Writes the two input columns of an exported graph (<see cref="OnnxContract"/>) from an image column:
/// <c>images</c> (the image's RGB planes as floats 0–255, a vector whose length follows the image) and
/// <c>image_sizes</c> (its height and width). ML.NET's own ExtractPixels needs every image resized to one
/// fixed size first, which would change what the model sees; this transformer keeps each image as it is.
/// Decoding paths uses SkiaSharp (no libtorch).
/// </summary>
public sealed class SegmentationOnnxInputTransformer : ITransformer
{
    internal SegmentationOnnxInputTransformer(string imageColumnName) => ImageColumnName = imageColumnName;

    /// <summary>The image column read: MLImage (from LoadImages) or a path.</summary>
    public string ImageColumnName { get; }

    /// <inheritdoc />
    public bool IsRowToRowMapper => true;

    /// <inheritdoc />
    public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => Columns(inputSchema).Extend(inputSchema);

    /// <inheritdoc />
    public IDataView Transform(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        return new AddedColumnsDataView(input, Columns(input.Schema));
    }

    /// <inheritdoc />
    public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => new AddedColumnsRowMapper(inputSchema, Columns(inputSchema));

    /// <summary>Saves an equivalent chain of ML.NET's own transformers (as the libtorch transformer does); it loads in any
    /// process that references MLNetSeg.Onnx.MLNet.</summary>
    void ICanSaveModel.Save(ModelSaveContext ctx) =>
        ((ICanSaveModel)OnnxRoutePersistence.InputChain(_lastInputSchema ?? throw new InvalidOperationException(OnnxRoute.NotSeen), ImageColumnName)).Save(ctx);

    private DataViewSchema? _lastInputSchema;

    private InputColumns Columns(DataViewSchema schema)
    {
        ArgumentNullException.ThrowIfNull(schema);
        var columns = new InputColumns(schema, ImageColumnName, ImageInputs.Check(schema, ImageColumnName));
        _lastInputSchema = schema;
        return columns;
    }

    private sealed class InputColumns : AddedColumns
    {
        private readonly DataViewSchema.Column _image;
        private readonly ImageColumnKind _kind;

        public InputColumns(DataViewSchema schema, string imageColumn, ImageColumnKind kind)
        {
            _image = schema[imageColumn];
            _kind = kind;
        }

        public override void AddTo(DataViewSchema.Builder builder)
        {
            builder.AddColumn(OnnxContract.Images, new VectorDataViewType(NumberDataViewType.Single));
            builder.AddColumn(OnnxContract.ImageSizes, new VectorDataViewType(NumberDataViewType.Int64, 2));
        }

        public override IEnumerable<DataViewSchema.Column> Dependencies(DataViewSchema input) => new[] { _image };

        public override Delegate[] CreateGetters(DataViewRow input)
        {
            var read = ImageReader(input);
            long position = -1;
            Image? current = null;
            Image Current()
            {
                if (position != input.Position || current is null)
                {
                    try { current = read(); }
                    catch (Exception e) when (e is not RowScoringException) { throw new RowScoringException(input.Position, _image.Name, e); }
                    position = input.Position;
                }
                return current;
            }
            ValueGetter<VBuffer<float>> pixels = (ref VBuffer<float> value) =>
            {
                var image = Current();
                var editor = VBufferEditor.Create(ref value, checked(3 * image.Height * image.Width));
                OnnxSegmentationPredictor.WritePlanes(image, editor.Values);
                value = editor.Commit();
            };
            ValueGetter<VBuffer<long>> sizes = (ref VBuffer<long> value) =>
            {
                var image = Current();
                var editor = VBufferEditor.Create(ref value, 2);
                editor.Values[0] = image.Height;
                editor.Values[1] = image.Width;
                value = editor.Commit();
            };
            return new Delegate[] { pixels, sizes };
        }

        private Func<Image> ImageReader(DataViewRow row)
        {
            if (_kind == ImageColumnKind.MLImage)
            {
                var getter = row.GetGetter<MLImage>(_image);
                MLImage? image = null;
                return () =>
                {
                    getter(ref image!);
                    return ImageInputs.FromMLImage(image ?? throw new InvalidDataException("the column holds no image"));
                };
            }
            var paths = row.GetGetter<ReadOnlyMemory<char>>(_image);
            ReadOnlyMemory<char> path = default;
            return () =>
            {
                paths(ref path);
                var image = SkiaImageDecoder.Read(path.ToString());
                return image.Channels == 3 ? image : image.ToRgb();
            };
        }
    }
}

/// <summary>The estimator of <see cref="SegmentationOnnxInputTransformer"/> (nothing to fit).</summary>
public sealed class SegmentationOnnxInputEstimator : IEstimator<SegmentationOnnxInputTransformer>
{
    internal SegmentationOnnxInputEstimator(string imageColumnName) => ImageColumnName = imageColumnName;

    /// <summary>The image column read.</summary>
    public string ImageColumnName { get; }

    /// <inheritdoc />
    public SegmentationOnnxInputTransformer Fit(IDataView input)
    {
        ArgumentNullException.ThrowIfNull(input);
        ImageInputs.Check(input.Schema, ImageColumnName);
        return new SegmentationOnnxInputTransformer(ImageColumnName);
    }

    /// <inheritdoc />
    public SchemaShape GetOutputSchema(SchemaShape inputSchema)
    {
        ArgumentNullException.ThrowIfNull(inputSchema);
        SchemaShapes.CheckImage(inputSchema, ImageColumnName);
        var shaped = new MLContext().Transforms.CustomMapping<Persistence.NoColumns, OnnxInputRow>((_, _) => { }, contractName: null).GetOutputSchema(inputSchema);
        return shaped;
    }

    private sealed class OnnxInputRow
    {
        [ColumnName(OnnxContract.Images)]
        [VectorType]
        public float[] Images = Array.Empty<float>();

        [ColumnName(OnnxContract.ImageSizes)]
        [VectorType(2)]
        public long[] ImageSizes = new long[2];
    }
}

/// <summary>Shared wording of the ONNX route.</summary>
internal static class OnnxRoute
{
    public const string NotSeen =
        "this transformer has not seen its input yet: call Transform or GetOutputSchema once before saving " +
        "(MLNetSeg needs the input schema to write the model)";
}
