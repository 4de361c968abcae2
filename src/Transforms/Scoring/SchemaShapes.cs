using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Transforms.Image;
using MLNetSeg.Transforms.Persistence;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// Estimator output shapes. <c>SchemaShape.Column</c>'s constructor is internal to ML.NET, but
/// <c>SchemaShape</c>'s is public: the columns are made by a throw-away CustomMapping estimator
/// (whose <c>GetOutputSchema</c> builds them from a SchemaDefinition) and kept or dropped here.
/// </summary>
internal static class SchemaShapes
{
    /// <summary>Throws naming the column when <paramref name="name"/> is missing or not an image/path scalar.</summary>
    public static void CheckImage(SchemaShape input, string name)
    {
        var column = input.FirstOrDefault(c => c.Name == name);
        if (column.Name is null)
            throw new ArgumentOutOfRangeException(nameof(input), $"the image column '{name}' is not in the input (columns: {string.Join(", ", input.Select(c => c.Name))})");
        if (column.Kind != SchemaShape.Column.VectorKind.Scalar || column.ItemType is not (ImageDataViewType or TextDataViewType))
            throw new ArgumentOutOfRangeException(nameof(input),
                $"the image column '{name}' has type {column.ItemType}{(column.Kind == SchemaShape.Column.VectorKind.Scalar ? "" : " vector")}; expected an image (MLImage, from mlContext.Transforms.LoadImages) or text (an image file path)");
    }

    /// <summary><paramref name="input"/> plus <paramref name="outputs"/> (names and kinds as a transformer adds them).</summary>
    public static SchemaShape Extend(SchemaShape input, IReadOnlyList<(string Name, OutputKind Kind)> outputs, int keypoints)
    {
        var definition = SchemaDefinition.Create(typeof(ShapeRow));
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var (name, kind) in outputs)
        {
            var column = definition[Field(kind)];
            column.ColumnName = name;
            keep.Add(name);
            if (kind == OutputKind.Label)
            {
                // The class count is not part of a shape; one key value stands for "some".
                column.ColumnType = new VectorDataViewType(new KeyDataViewType(typeof(uint), 1));
                column.AddAnnotation(SegmentationScorer.KeyValuesAnnotation, new VBuffer<ReadOnlyMemory<char>>(1, new[] { "class".AsMemory() }),
                    new VectorDataViewType(TextDataViewType.Instance, 1));
            }
        }
        // Unused fields still need distinct names that cannot clash with the input's.
        foreach (var column in definition)
            if (!keep.Contains(column.ColumnName)) column.ColumnName = PersistedColumns.Prefix + "shape_" + column.MemberName;
        var shaped = new MLContext().Transforms.CustomMapping<NoColumns, ShapeRow>((_, _) => { }, contractName: null, outputSchemaDefinition: definition)
            .GetOutputSchema(input);
        return new SchemaShape(shaped.Where(c => !c.Name.StartsWith(PersistedColumns.Prefix + "shape_", StringComparison.Ordinal)));
    }

    private static string Field(OutputKind kind) => kind switch
    {
        OutputKind.Label => nameof(ShapeRow.Label),
        OutputKind.Score => nameof(ShapeRow.Score),
        OutputKind.Boxes => nameof(ShapeRow.Boxes),
        OutputKind.Masks => nameof(ShapeRow.Masks),
        OutputKind.Keypoints => nameof(ShapeRow.Keypoints),
        OutputKind.Semantic => nameof(ShapeRow.Semantic),
        _ => throw new ArgumentOutOfRangeException(nameof(kind)),
    };

    /// <summary>One field per output kind, typed as the output column.</summary>
    private sealed class ShapeRow
    {
        public uint[] Label = Array.Empty<uint>();
        public float[] Score = Array.Empty<float>();
        public float[] Boxes = Array.Empty<float>();
        public string[] Masks = Array.Empty<string>();
        public float[] Keypoints = Array.Empty<float>();
        public ushort[] Semantic = Array.Empty<ushort>();
    }
}
