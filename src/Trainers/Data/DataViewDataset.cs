using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Transforms;
using MLNetSeg.Transforms.Data;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Trainers.Data;

/// <summary>
/// An annotated IDataView (the columns of <see cref="SegmentationColumns"/>) as the training core's
/// <see cref="DetectionDataset"/>: one cursor pass over the label columns builds an in-memory COCO
/// dataset (row i → image id i + 1; key k → category id k, named by the label column's key values),
/// so the training loop, its data loader (parallel, shuffled, aspect-grouped) and the validation
/// evaluation run unchanged. The label columns are read and checked by <see cref="GroundTruthColumns"/>,
/// as the evaluation catalog reads them. Images stay where they are when the column holds paths; an MLImage
/// column is written once as lossless PNGs to <c>imageCache</c>, because the loader needs random access.
/// </summary>
internal static class DataViewDataset
{
    public static DetectionDataset Create(IDataView data, SegmentationTrainerOptions options, string role, string imageCache)
    {
        var schema = data.Schema;
        var image = Require(schema, options.ImageColumnName, role, "the image (MLImage or path)");
        bool paths = image.Type is TextDataViewType;
        if (!paths && image.Type is not ImageDataViewType)
            throw new ArgumentOutOfRangeException(nameof(data), $"{role} data: the image column '{image.Name}' has type {image.Type}; expected an image (MLImage) or text (a file path)");
        var label = Require(schema, options.LabelColumnName, role, "the object classes");
        if (label.Type is not VectorDataViewType { ItemType: KeyDataViewType labelKey } || labelKey.RawType != typeof(uint))
            throw new ArgumentOutOfRangeException(nameof(data), $"{role} data: the label column '{label.Name}' has type {label.Type}; expected a vector of UInt32 keys " +
                                                                "(text labels become keys with mlContext.Transforms.Conversion.MapValueToKey)");
        var classNames = KeyNames(label, (int)labelKey.Count);
        var boxes = RequireVector(schema, options.BoundingBoxColumnName, role, NumberDataViewType.Single, "x0, y0, x1, y1 per object");
        var masks = OptionalVector(schema, options.MaskColumnName, role, TextDataViewType.Instance);
        var keypoints = OptionalVector(schema, options.KeypointColumnName, role, NumberDataViewType.Single);
        var crowd = OptionalVector(schema, options.IsCrowdColumnName, role, BooleanDataViewType.Instance);
        var area = OptionalVector(schema, SegmentationColumns.Area, role, NumberDataViewType.Double);
        var width = OptionalScalar(schema, options.WidthColumnName, role, NumberDataViewType.Int32);
        var height = OptionalScalar(schema, options.HeightColumnName, role, NumberDataViewType.Int32);
        var semantic = OptionalScalar(schema, options.SemanticLabelsColumnName, role, TextDataViewType.Instance);

        var layout = new KeypointLayout();
        var truth = new GroundTruthColumns(label, classNames.Length, boxes, masks, keypoints, crowd, area, layout, emptyMaskIsNone: true);
        var columns = new[] { image }.Concat(truth.Columns).Concat(new[] { width, height, semantic }.OfType<DataViewSchema.Column>());
        var semanticPaths = semantic is null ? null : new Dictionary<long, string>();
        var images = new List<CocoImage>();
        var annotations = new List<CocoAnnotation>();
        if (!paths) Directory.CreateDirectory(imageCache);
        using (var cursor = data.GetRowCursor(columns))
        {
            var getPath = paths ? cursor.GetGetter<ReadOnlyMemory<char>>(image) : null;
            var getImage = paths ? null : cursor.GetGetter<MLImage>(image);
            var getWidth = width is { } w ? cursor.GetGetter<int>(w) : null;
            var getHeight = height is { } h ? cursor.GetGetter<int>(h) : null;
            var getSemantic = semantic is { } sem ? cursor.GetGetter<ReadOnlyMemory<char>>(sem) : null;
            ReadOnlyMemory<char> semanticPath = default;
            var rowTruth = truth.Bind(cursor);
            ReadOnlyMemory<char> path = default;
            MLImage? mlImage = null;
            while (cursor.MoveNext())
            {
                long row = cursor.Position;
                string where = $"{role} data, row {row}";
                string fileName;
                int imageWidth = 0, imageHeight = 0;
                if (getPath is not null)
                {
                    getPath(ref path);
                    fileName = Path.GetFullPath(path.ToString());
                    if (getWidth is not null && getHeight is not null) { getWidth(ref imageWidth); getHeight(ref imageHeight); }
                    else (imageHeight, imageWidth) = SizeOf(fileName, where);
                }
                else
                {
                    getImage!(ref mlImage!);
                    if (mlImage is null) throw new InvalidDataException($"{where}: column '{image.Name}' holds no image");
                    var rgb = MLNetSeg.Transforms.Scoring.ImageInputs.FromMLImage(mlImage);
                    fileName = Path.Combine(imageCache, $"{row:D8}.png");
                    if (!File.Exists(fileName)) ImageIO.WritePng(rgb, fileName);
                    (imageHeight, imageWidth) = (rgb.Height, rgb.Width);
                }
                long imageId = row + 1;
                if (getSemantic is not null)
                {
                    getSemantic(ref semanticPath);
                    if (semanticPath.IsEmpty) throw new InvalidDataException($"{where}: column '{semantic!.Value.Name}' holds no label-map path");
                    semanticPaths![imageId] = Path.GetFullPath(semanticPath.ToString());
                }
                images.Add(new CocoImage { Id = imageId, Width = imageWidth, Height = imageHeight, FileName = fileName });
                foreach (var o in rowTruth.Read(where, imageHeight, imageWidth))
                    annotations.Add(o.ToCoco(annotations.Count + 1, imageId, withKeypoints: o.Keypoints is not null));
            }
        }
        if (images.Count == 0) throw new InvalidDataException($"{role} data has no rows");

        var keypointNames = layout.Count > 0 ? KeypointNames(keypoints!.Value, layout.Count) : null;
        var categories = classNames.Select((name, i) => new CocoCategory
        {
            Id = i + 1,
            Name = name,
            Keypoints = keypointNames,
        });
        var coco = new CocoDataset(images, categories, annotations, source: $"{role} IDataView");
        var datasetOptions = semanticPaths is null ? options.Dataset : options.Dataset with { SemanticMapPaths = semanticPaths };
        return new DetectionDataset(coco, imageDirectory: "", datasetOptions);
    }

    private static (int Height, int Width) SizeOf(string path, string where)
    {
        try
        {
            var image = ImageIO.Read(path);
            return (image.Height, image.Width);
        }
        catch (IOException e)
        {
            throw new InvalidDataException($"{where}: cannot read image '{path}' for its size (add Width/Height columns to skip this): {e.Message}", e);
        }
    }

    private static string[] KeyNames(DataViewSchema.Column column, int count)
    {
        if (column.Annotations.Schema.GetColumnOrNull("KeyValues") is null)
            return Enumerable.Range(1, count).Select(k => $"class{k}").ToArray();
        VBuffer<ReadOnlyMemory<char>> names = default;
        column.GetKeyValues(ref names);
        return names.DenseValues().Select(n => n.ToString()).ToArray();
    }

    private static string[] KeypointNames(DataViewSchema.Column column, int count)
    {
        if (column.Annotations.Schema.GetColumnOrNull(SegmentationColumns.KeypointNamesAnnotation) is { } annotation)
        {
            VBuffer<ReadOnlyMemory<char>> names = default;
            column.Annotations.GetValue(SegmentationColumns.KeypointNamesAnnotation, ref names);
            var list = names.DenseValues().Select(n => n.ToString()).ToArray();
            if (list.Length == count) return list;
        }
        return Enumerable.Range(0, count).Select(i => $"keypoint{i}").ToArray();
    }

    private static DataViewSchema.Column Require(DataViewSchema schema, string name, string role, string what) =>
        schema.GetColumnOrNull(name) ?? throw new ArgumentOutOfRangeException(nameof(schema),
            $"{role} data has no column '{name}' ({what}); columns: {string.Join(", ", schema.Select(c => c.Name))}");

    private static DataViewSchema.Column RequireVector(DataViewSchema schema, string name, string role, DataViewType item, string what)
    {
        var column = Require(schema, name, role, what);
        return OptionalVector(schema, name, role, item)!.Value;
    }

    private static DataViewSchema.Column? OptionalVector(DataViewSchema schema, string name, string role, DataViewType item)
    {
        if (schema.GetColumnOrNull(name) is not { } column) return null;
        if (column.Type is not VectorDataViewType vector || !vector.ItemType.Equals(item))
            throw new ArgumentOutOfRangeException(nameof(schema), $"{role} data: column '{name}' has type {column.Type}; expected a vector of {item}");
        return column;
    }

    private static DataViewSchema.Column? OptionalScalar(DataViewSchema schema, string name, string role, DataViewType type)
    {
        if (schema.GetColumnOrNull(name) is not { } column) return null;
        if (!column.Type.Equals(type)) throw new ArgumentOutOfRangeException(nameof(schema), $"{role} data: column '{name}' has type {column.Type}; expected {type}");
        return column;
    }
}
