using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// Reads the image of the row an input row/cursor is on, scoring it on first use: the lazy core
/// shared by the transformer's cursor (<see cref="SegmentationDataView"/>) and its row mapper
/// (PredictionEngine). Nothing runs until an output column's getter is called; a row is scored at
/// most once however many output columns are read.
/// </summary>
internal sealed class LazyScoredRow
{
    private readonly SegmentationScorer _scorer;
    private readonly DataViewRow _input;
    private readonly string _imageColumn;
    private readonly Func<Image>? _readImage;
    private readonly IBatchSource? _batches;
    private long _position = -1;
    private ScoredRow? _row;

    public LazyScoredRow(SegmentationScorer scorer, DataViewRow input, string imageColumn, ImageColumnKind kind, IBatchSource? batches = null)
    {
        _scorer = scorer;
        _input = input;
        _imageColumn = imageColumn;
        _batches = batches;
        // With a batch source the look-ahead cursor reads the images; this row's cursor may not even have the column active.
        _readImage = batches is null ? ImageReader(input, input.Schema[imageColumn], kind) : null;
    }

    /// <summary>The scored outputs of the input's current row.</summary>
    public ScoredRow Current()
    {
        long position = _input.Position;
        if (_row is not null && _position == position) return _row;
        _row = null;
        try
        {
            _row = _batches is not null ? _batches.Take(position) : _scorer.Score(new[] { _readImage!() })[0];
        }
        catch (Exception e) when (e is not RowScoringException)
        {
            throw new RowScoringException(position, _imageColumn, e);
        }
        _position = position;
        return _row;
    }

    /// <summary>A function reading <paramref name="column"/> of <paramref name="row"/> as an RGB image.</summary>
    public static Func<Image> ImageReader(DataViewRow row, DataViewSchema.Column column, ImageColumnKind kind)
    {
        if (kind == ImageColumnKind.MLImage)
        {
            var getter = row.GetGetter<MLImage>(column);
            MLImage? image = null;
            return () =>
            {
                getter(ref image!);
                return ImageInputs.FromMLImage(image ?? throw new InvalidDataException("the column holds no image"));
            };
        }
        var paths = row.GetGetter<ReadOnlyMemory<char>>(column);
        ReadOnlyMemory<char> path = default;
        return () =>
        {
            paths(ref path);
            return ImageInputs.ReadFile(path.ToString());
        };
    }
}

/// <summary>Scores rows ahead of the cursor in batches (see <see cref="SegmentationDataView"/>).</summary>
internal interface IBatchSource
{
    /// <summary>The scored row at <paramref name="position"/>; positions only increase.</summary>
    ScoredRow Take(long position);
}

