using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// The transformer as a row-to-row mapper: what <c>CreatePredictionEngine</c> uses. Each row it
/// returns passes the input's columns through and scores the image the first time an output is read.
/// </summary>
internal sealed class SegmentationRowMapper : IRowToRowMapper
{
    private readonly SegmentationScorer _scorer;
    private readonly string _imageColumn;
    private readonly ImageColumnKind _kind;

    public SegmentationRowMapper(DataViewSchema inputSchema, DataViewSchema outputSchema, SegmentationScorer scorer, string imageColumn)
    {
        InputSchema = inputSchema;
        OutputSchema = outputSchema;
        _scorer = scorer;
        _imageColumn = imageColumn;
        _kind = ImageInputs.Check(inputSchema, imageColumn);
    }

    public DataViewSchema InputSchema { get; }

    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = dependingColumns.ToArray();
        var inputs = needed.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]).ToList();
        var image = InputSchema[_imageColumn];
        if (needed.Any(c => c.Index >= InputSchema.Count) && !inputs.Any(c => c.Index == image.Index)) inputs.Add(image);
        return inputs;
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new Row(this, input, activeColumns.Select(c => c.Index).ToHashSet());

    private sealed class Row : DataViewRow
    {
        private readonly SegmentationRowMapper _parent;
        private readonly DataViewRow _input;
        private readonly HashSet<int> _active;
        private readonly Lazy<LazyScoredRow> _scored;

        public Row(SegmentationRowMapper parent, DataViewRow input, HashSet<int> active)
        {
            _parent = parent;
            _input = input;
            _active = active;
            _scored = new Lazy<LazyScoredRow>(() => new LazyScoredRow(parent._scorer, input, parent._imageColumn, parent._kind));
        }

        public override DataViewSchema Schema => _parent.OutputSchema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _input.Schema.Count ? _input.IsColumnActive(_input.Schema[column.Index]) : _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _input.Schema.Count) return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            if (!_active.Contains(column.Index)) throw new InvalidOperationException($"column '{column.Name}' is not active in this row");
            var kind = _parent._scorer.Outputs[column.Index - _input.Schema.Count].Kind;
            return SegmentationScorer.Getter(kind, () => _scored.Value.Current()) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}");
        }
    }
}
