using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNetSeg.Data.Coco;
using MLNetSeg.Data.Loading;
using MLNetSeg.Transforms;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Trainers.Data;

/// <summary>
/// An annotated IDataView (the columns of <see cref="SegmentationColumns"/>) as the training core's
/// <see cref="DetectionDataset"/>: one cursor pass over the label columns builds an in-memory COCO
/// dataset (row i → image id i + 1; key k → category id k, named by the label column's key values),
/// so the training loop, its data loader (parallel, shuffled, aspect-grouped) and the validation
/// evaluation run unchanged. Images stay where they are when the column holds paths; an MLImage
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

        var columns = new[] { image, label, boxes }.Concat(new[] { masks, keypoints, crowd, area, width, height }.OfType<DataViewSchema.Column>());
        var images = new List<CocoImage>();
        var annotations = new List<CocoAnnotation>();
        int keypointsPerObject = -1;
        if (!paths) Directory.CreateDirectory(imageCache);
        using (var cursor = data.GetRowCursor(columns))
        {
            var getPath = paths ? cursor.GetGetter<ReadOnlyMemory<char>>(image) : null;
            var getImage = paths ? null : cursor.GetGetter<MLImage>(image);
            var getLabel = cursor.GetGetter<VBuffer<uint>>(label);
            var getBoxes = cursor.GetGetter<VBuffer<float>>(boxes);
            var getMasks = masks is { } m ? cursor.GetGetter<VBuffer<ReadOnlyMemory<char>>>(m) : null;
            var getKeypoints = keypoints is { } k ? cursor.GetGetter<VBuffer<float>>(k) : null;
            var getCrowd = crowd is { } c ? cursor.GetGetter<VBuffer<bool>>(c) : null;
            var getArea = area is { } a ? cursor.GetGetter<VBuffer<double>>(a) : null;
            var getWidth = width is { } w ? cursor.GetGetter<int>(w) : null;
            var getHeight = height is { } h ? cursor.GetGetter<int>(h) : null;
            ReadOnlyMemory<char> path = default;
            MLImage? mlImage = null;
            VBuffer<uint> labels = default;
            VBuffer<float> boxValues = default, keypointValues = default;
            VBuffer<ReadOnlyMemory<char>> maskValues = default;
            VBuffer<bool> crowdValues = default;
            VBuffer<double> areaValues = default;
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
                images.Add(new CocoImage { Id = imageId, Width = imageWidth, Height = imageHeight, FileName = fileName });

                getLabel(ref labels);
                getBoxes(ref boxValues);
                var l = labels.DenseValues().ToArray();
                var b = boxValues.DenseValues().ToArray();
                Expect(b.Length, 4 * l.Length, where, boxes.Name, "4 values per object");
                string[]? rles = null;
                if (getMasks is not null)
                {
                    getMasks(ref maskValues);
                    rles = maskValues.DenseValues().Select(v => v.ToString()).ToArray();
                    Expect(rles.Length, l.Length, where, masks!.Value.Name, "one mask per object");
                }
                float[]? kp = null;
                if (getKeypoints is not null)
                {
                    getKeypoints(ref keypointValues);
                    kp = keypointValues.DenseValues().ToArray();
                    if (l.Length > 0)
                    {
                        if (kp.Length % (3 * l.Length) != 0)
                            throw new InvalidDataException($"{where}: column '{keypoints!.Value.Name}' has {kp.Length} values for {l.Length} objects; expected 3·K per object (x, y, v)");
                        int perObject = kp.Length / (3 * l.Length);
                        if (keypointsPerObject >= 0 && perObject != keypointsPerObject)
                            throw new InvalidDataException($"{where}: column '{keypoints!.Value.Name}' has {perObject} keypoints per object, earlier rows {keypointsPerObject}");
                        keypointsPerObject = perObject;
                    }
                }
                bool[]? isCrowd = null;
                if (getCrowd is not null)
                {
                    getCrowd(ref crowdValues);
                    isCrowd = crowdValues.DenseValues().ToArray();
                    Expect(isCrowd.Length, l.Length, where, crowd!.Value.Name, "one flag per object");
                }
                double[]? areas = null;
                if (getArea is not null)
                {
                    getArea(ref areaValues);
                    areas = areaValues.DenseValues().ToArray();
                    Expect(areas.Length, l.Length, where, area!.Value.Name, "one area per object");
                }
                for (int i = 0; i < l.Length; i++)
                {
                    if (l[i] == 0 || l[i] > classNames.Length)
                        throw new InvalidDataException($"{where}: object {i} has label key {l[i]} (missing or out of the {classNames.Length} classes)");
                    double x0 = b[4 * i], y0 = b[4 * i + 1], x1 = b[4 * i + 2], y1 = b[4 * i + 3];
                    if (!(double.IsFinite(x0) && double.IsFinite(y0) && double.IsFinite(x1) && double.IsFinite(y1)))
                        throw new InvalidDataException($"{where}: object {i} has a non-finite box [{x0}, {y0}, {x1}, {y1}]");
                    CocoSegmentation? segmentation = null;
                    if (rles is not null && rles[i].Length > 0)
                    {
                        try { segmentation = CocoCompressedRle.FromRle(MaskEncoding.Decode(rles[i], imageHeight, imageWidth)); }
                        catch (FormatException e) { throw new InvalidDataException($"{where}: object {i}'s mask in column '{masks!.Value.Name}' is not a COCO RLE string: {e.Message}", e); }
                    }
                    double? objectArea = areas?[i] ?? (segmentation is CocoCompressedRle r ? MaskEncoding.Decode(r.Counts, imageHeight, imageWidth).Area : (x1 - x0) * (y1 - y0));
                    annotations.Add(new CocoAnnotation
                    {
                        Id = annotations.Count + 1,
                        ImageId = imageId,
                        CategoryId = l[i],
                        Bbox = new[] { x0, y0, x1 - x0, y1 - y0 },
                        Area = objectArea,
                        IsCrowd = isCrowd?[i] ?? false,
                        Segmentation = segmentation,
                        Keypoints = kp is null || keypointsPerObject <= 0 ? null
                            : kp.AsSpan(i * 3 * keypointsPerObject, 3 * keypointsPerObject).ToArray().Select(v => (double)v).ToArray(),
                        NumKeypoints = kp is null || keypointsPerObject <= 0 ? null
                            : Enumerable.Range(0, keypointsPerObject).Count(j => kp[(i * keypointsPerObject + j) * 3 + 2] > 0),
                    });
                }
            }
        }
        if (images.Count == 0) throw new InvalidDataException($"{role} data has no rows");

        var keypointNames = keypointsPerObject > 0 ? KeypointNames(keypoints!.Value, keypointsPerObject) : null;
        var categories = classNames.Select((name, i) => new CocoCategory
        {
            Id = i + 1,
            Name = name,
            Keypoints = keypointNames,
        });
        var coco = new CocoDataset(images, categories, annotations, source: $"{role} IDataView");
        return new DetectionDataset(coco, imageDirectory: "", options.Dataset);
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

    private static void Expect(int actual, int expected, string where, string column, string what)
    {
        if (actual != expected) throw new InvalidDataException($"{where}: column '{column}' has {actual} values, expected {expected} ({what})");
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
