using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Vision.Imaging;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// What <see cref="SegmentationTransformer.Transform"/> returns: the input's columns plus the
/// outputs, computed lazily while a cursor moves. With a batch size above 1 a second cursor over
/// the image column runs ahead of the caller's and scores the next images together; rows whose
/// outputs are never read are skipped by it without decoding their image.
/// </summary>
internal sealed class SegmentationDataView : IDataView
{
    private readonly IDataView _input;
    private readonly SegmentationScorer _scorer;
    private readonly string _imageColumn;
    private readonly ImageColumnKind _kind;

    public SegmentationDataView(IDataView input, SegmentationScorer scorer, string imageColumn, DataViewSchema schema)
    {
        _input = input;
        _scorer = scorer;
        _imageColumn = imageColumn;
        _kind = ImageInputs.Check(input.Schema, imageColumn);
        Schema = schema;
    }

    public bool CanShuffle => false;

    public DataViewSchema Schema { get; }

    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToArray();
        var outputs = needed.Where(c => c.Index >= _input.Schema.Count).Select(c => c.Index).ToHashSet();
        var inputColumns = needed.Where(c => c.Index < _input.Schema.Count).Select(c => _input.Schema[c.Index]).ToList();
        bool scoring = outputs.Count > 0;
        // With batching the look-ahead cursor reads the images; the caller's cursor only needs them when scoring row by row.
        var image = _input.Schema[_imageColumn];
        if (scoring && _scorer.Settings.BatchSize == 1 && !inputColumns.Any(c => c.Index == image.Index))
            inputColumns.Add(image);
        var cursor = _input.GetRowCursor(inputColumns, rand);
        LookAhead? batches = scoring && _scorer.Settings.BatchSize > 1
            ? new LookAhead(_input.GetRowCursor(new[] { image }, rand), _scorer, _imageColumn, _kind)
            : null;
        return new Cursor(this, cursor, outputs, batches);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        // One cursor: the model uses every core itself (libtorch's intra-op threads).
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly SegmentationDataView _parent;
        private readonly DataViewRowCursor _input;
        private readonly HashSet<int> _outputs;
        private readonly LookAhead? _batches;
        private readonly LazyScoredRow? _scored;

        public Cursor(SegmentationDataView parent, DataViewRowCursor input, HashSet<int> outputs, LookAhead? batches)
        {
            _parent = parent;
            _input = input;
            _outputs = outputs;
            _batches = batches;
            if (outputs.Count > 0)
                _scored = new LazyScoredRow(parent._scorer, input, parent._imageColumn, parent._kind, batches);
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _input.Schema.Count ? _input.IsColumnActive(_input.Schema[column.Index]) : _outputs.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _input.Schema.Count) return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            if (!_outputs.Contains(column.Index) || _scored is null)
                throw new InvalidOperationException($"column '{column.Name}' was not requested when the cursor was created");
            var kind = _parent._scorer.Outputs[column.Index - _input.Schema.Count].Kind;
            var scored = _scored;
            return SegmentationScorer.Getter(kind, scored.Current) as ValueGetter<TValue>
                ?? throw new InvalidOperationException($"column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _input.Dispose();
                _batches?.Dispose();
            }
            base.Dispose(disposing);
        }
    }

    /// <summary>Scores the images of the next rows, a batch at a time, ahead of the caller's cursor.</summary>
    private sealed class LookAhead : IBatchSource, IDisposable
    {
        private readonly DataViewRowCursor _cursor;
        private readonly SegmentationScorer _scorer;
        private readonly Func<Image> _readImage;
        private readonly Queue<(long Position, ScoredRow Row)> _ready = new();
        private readonly string _imageColumn;

        public LookAhead(DataViewRowCursor cursor, SegmentationScorer scorer, string imageColumn, ImageColumnKind kind)
        {
            _cursor = cursor;
            _scorer = scorer;
            _imageColumn = imageColumn;
            _readImage = LazyScoredRow.ImageReader(cursor, cursor.Schema[imageColumn], kind);
        }

        public ScoredRow Take(long position)
        {
            while (_ready.Count > 0 && _ready.Peek().Position < position) _ready.Dequeue();
            if (_ready.Count == 0) Fill(position);
            var (at, row) = _ready.Dequeue();
            if (at != position) throw new InvalidOperationException($"look-ahead cursor at row {at}, expected {position}: the input gave two cursors different rows");
            return row;
        }

        private void Fill(long position)
        {
            // Skip rows the caller passed without reading outputs; then read up to a batch of images.
            while (_cursor.Position < position)
                if (!_cursor.MoveNext()) throw new InvalidOperationException($"look-ahead cursor ended before row {position}");
            var positions = new List<long>();
            var images = new List<Image>();
            do
            {
                try { images.Add(_readImage()); }
                catch (Exception e) { throw new RowScoringException(_cursor.Position, _imageColumn, e); }
                positions.Add(_cursor.Position);
            }
            while (images.Count < _scorer.Settings.BatchSize && _cursor.MoveNext());
            var rows = _scorer.Score(images);
            for (int i = 0; i < rows.Length; i++) _ready.Enqueue((positions[i], rows[i]));
        }

        public void Dispose() => _cursor.Dispose();
    }
}
