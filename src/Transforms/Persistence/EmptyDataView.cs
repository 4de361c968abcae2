using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetSeg.Transforms.Persistence;

/// <summary>A data view with a schema and no rows: what the save chain's steps are fitted on (none of them learns from data).</summary>
internal sealed class EmptyDataView : IDataView
{
    public EmptyDataView(DataViewSchema schema) => Schema = schema;

    public bool CanShuffle => false;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => 0;

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null) => new Cursor(Schema);

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) => new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor(DataViewSchema schema) : DataViewRowCursor
    {
        public override DataViewSchema Schema => schema;
        public override long Position => -1;
        public override long Batch => 0;
        public override bool MoveNext() => false;
        public override bool IsColumnActive(DataViewSchema.Column column) => false;
        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column) => throw new InvalidOperationException("an empty data view has no rows");
        public override ValueGetter<DataViewRowId> GetIdGetter() => (ref DataViewRowId id) => id = default;
    }
}
