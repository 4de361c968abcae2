using Microsoft.ML;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>The libtorch transformer's output columns as <see cref="AddedColumns"/>: each row's image is scored
/// when one of its outputs is first read (the row-to-row path of PredictionEngine).</summary>
internal sealed class ScorerColumns : AddedColumns
{
    private readonly SegmentationScorer _scorer;
    private readonly string _imageColumn;
    private readonly ImageColumnKind _kind;

    public ScorerColumns(SegmentationScorer scorer, DataViewSchema input, string imageColumn)
    {
        _scorer = scorer;
        _imageColumn = imageColumn;
        _kind = ImageInputs.Check(input, imageColumn);
    }

    public override void AddTo(DataViewSchema.Builder builder) => _scorer.AddOutputColumns(builder);

    public override IEnumerable<DataViewSchema.Column> Dependencies(DataViewSchema input) => new[] { input[_imageColumn] };

    public override Delegate[] CreateGetters(DataViewRow input)
    {
        var scored = new LazyScoredRow(_scorer, input, _imageColumn, _kind);
        return _scorer.Outputs.Select(o => SegmentationScorer.Getter(o.Kind, scored.Current)).ToArray();
    }
}
