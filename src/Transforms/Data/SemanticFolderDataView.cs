using System.Buffers.Binary;
using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Data.Semantic;

namespace MLNetSeg.Transforms;

/// <summary>What <see cref="SegmentationDataCatalogExtensions.LoadFromSemanticFolder"/> pairs and annotates.</summary>
public sealed record SemanticFolderOptions
{
    /// <summary>The annotation on <see cref="SegmentationColumns.SemanticLabels"/> holding the class names (<c>Vector&lt;Text&gt;</c>, name of class 0 first).</summary>
    public const string ClassNamesAnnotation = "ClassNames";

    /// <summary>Part of the image file name before the extension that is not part of the pairing key, e.g. "_leftImg8bit" for Cityscapes.</summary>
    public string ImageSuffix { get; init; } = "";

    /// <summary>The same for label maps, e.g. "_gtFine_labelTrainIds".</summary>
    public string LabelSuffix { get; init; } = "";

    /// <summary>Search sub-folders too (Cityscapes keeps one folder per city); the pairing key then includes the sub-folder.</summary>
    public bool Recursive { get; init; }

    /// <summary>
    /// The class names, class 0 first: label value c of the label maps is <c>ClassNames[c]</c>. When
    /// given they become the <see cref="ClassNamesAnnotation"/> annotation of the SemanticLabels
    /// column (the folders themselves do not name the classes); when null there is no annotation.
    /// </summary>
    public IReadOnlyList<string>? ClassNames { get; init; }
}

/// <summary>
/// Image / label-map folder pairs as an <see cref="IDataView"/>: one row per pair, paired and
/// ordered by <see cref="SemanticSegmentationDataset.FromFolders"/>. Only file names are read up
/// front; Width and Height come from the label map's PNG header when a cursor reads them.
/// </summary>
internal sealed class SemanticFolderDataView : IDataView
{
    private const int ImagePathColumn = 0, WidthColumn = 1, HeightColumn = 2, LabelsColumn = 3;

    private readonly SemanticSample[] _samples;
    private readonly string _description;

    public SemanticFolderDataView(SemanticSegmentationDataset dataset, IReadOnlyList<string>? classNames)
    {
        ArgumentNullException.ThrowIfNull(dataset);
        _samples = dataset.ToArray();
        _description = $"semantic folder data view of {dataset.ImageDirectory} and {dataset.LabelDirectory}";
        var builder = new DataViewSchema.Builder();
        builder.AddColumn(SegmentationColumns.ImagePath, TextDataViewType.Instance);
        builder.AddColumn(SegmentationColumns.Width, NumberDataViewType.Int32);
        builder.AddColumn(SegmentationColumns.Height, NumberDataViewType.Int32);
        builder.AddColumn(SegmentationColumns.SemanticLabels, TextDataViewType.Instance,
            classNames is null ? null : CocoDataView.TextVectorAnnotation(SemanticFolderOptions.ClassNamesAnnotation, classNames));
        Schema = builder.ToSchema();
    }

    public DataViewSchema Schema { get; }

    public bool CanShuffle => false;

    /// <summary>How many label-map headers cursors have read (tests check laziness with it).</summary>
    internal long HeadersRead => Interlocked.Read(ref _headersRead);

    private long _headersRead;

    public long? GetRowCount() => _samples.Length;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) =>
        new Cursor(this, columnsNeeded);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        [new Cursor(this, columnsNeeded)];

    /// <summary>
    /// (height, width) from a PNG's IHDR chunk (bytes 16–23, big-endian): the label map must have its
    /// image's size, so the image itself need not be opened (or decoded).
    /// </summary>
    internal static (int Height, int Width) PngSize(string path)
    {
        Span<byte> header = stackalloc byte[24];
        int read;
        try
        {
            using var file = File.OpenRead(path);
            read = file.ReadAtLeast(header, header.Length, throwOnEndOfStream: false);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            throw new SemanticDatasetException($"label map {path} does not exist (any more)", e);
        }
        ReadOnlySpan<byte> signature = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A];
        if (read < header.Length || !header[..8].SequenceEqual(signature) || !header[12..16].SequenceEqual("IHDR"u8))
            throw new SemanticDatasetException($"label map {path} is not a PNG (no PNG signature and IHDR header in its first 24 bytes)");
        int width = BinaryPrimitives.ReadInt32BigEndian(header[16..20]);
        int height = BinaryPrimitives.ReadInt32BigEndian(header[20..24]);
        if (width <= 0 || height <= 0)
            throw new SemanticDatasetException($"label map {path}: its PNG header gives a size of {width}x{height} (WxH)");
        return (height, width);
    }

    private sealed class Cursor : IndexedRowCursor
    {
        private readonly SemanticFolderDataView _view;
        private int _sizeRow = -1;
        private (int Height, int Width) _size;

        public Cursor(SemanticFolderDataView view, IEnumerable<DataViewSchema.Column> columnsNeeded)
            : base(view.Schema, columnsNeeded, view._samples.Length, view._description) => _view = view;

        protected override Delegate MakeGetter(int columnIndex) => columnIndex switch
        {
            ImagePathColumn => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) =>
                value = _view._samples[Row].ImagePath.AsMemory()),
            WidthColumn => (ValueGetter<int>)((ref int value) => value = Size().Width),
            HeightColumn => (ValueGetter<int>)((ref int value) => value = Size().Height),
            LabelsColumn => (ValueGetter<ReadOnlyMemory<char>>)((ref ReadOnlyMemory<char> value) =>
                value = _view._samples[Row].LabelPath.AsMemory()),
            _ => throw new InvalidOperationException($"no getter for column {columnIndex}"),
        };

        // Width and Height of one row share one header read.
        private (int Height, int Width) Size()
        {
            int row = Row;
            if (_sizeRow != row)
            {
                _size = PngSize(_view._samples[row].LabelPath);
                Interlocked.Increment(ref _view._headersRead);
                _sizeRow = row;
            }
            return _size;
        }
    }
}
