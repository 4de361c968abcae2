using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetSeg.Transforms.Scoring;

/// <summary>
/// Columns a transformer appends to its input, computed row by row from some input columns. One
/// implementation serves both ML.NET paths: <see cref="AddedColumnsDataView"/> (Transform, lazy
/// cursors) and <see cref="AddedColumnsRowMapper"/> (PredictionEngine).
/// </summary>
internal abstract class AddedColumns
{
    /// <summary>Adds the new columns (names, types, annotations) after the input's.</summary>
    public abstract void AddTo(DataViewSchema.Builder builder);

    /// <summary>The input columns the new ones are computed from.</summary>
    public abstract IEnumerable<DataViewSchema.Column> Dependencies(DataViewSchema input);

    /// <summary>A getter per new column, in schema order, for the rows of <paramref name="input"/>.</summary>
    public abstract Delegate[] CreateGetters(DataViewRow input);

    /// <summary>The input schema followed by the new columns.</summary>
    public DataViewSchema Extend(DataViewSchema input)
    {
        var builder = new DataViewSchema.Builder();
        builder.AddColumns(input);
        AddTo(builder);
        return builder.ToSchema();
    }
}

/// <summary>An input view with <see cref="AddedColumns"/> appended, computed only for rows whose new columns are read.</summary>
internal sealed class AddedColumnsDataView : IDataView
{
    private readonly IDataView _input;
    private readonly AddedColumns _added;

    public AddedColumnsDataView(IDataView input, AddedColumns added)
    {
        _input = input;
        _added = added;
        Schema = added.Extend(input.Schema);
    }

    public bool CanShuffle => _input.CanShuffle;
    public DataViewSchema Schema { get; }
    public long? GetRowCount() => _input.GetRowCount();

    public DataViewRowCursor GetRowCursor(IEnumerable<DataViewSchema.Column> columnsNeeded, Random? rand = null)
    {
        var needed = columnsNeeded.ToArray();
        bool adding = needed.Any(c => c.Index >= _input.Schema.Count);
        var inputColumns = needed.Where(c => c.Index < _input.Schema.Count).Select(c => _input.Schema[c.Index])
            .Concat(adding ? _added.Dependencies(_input.Schema) : Enumerable.Empty<DataViewSchema.Column>())
            .DistinctBy(c => c.Index).ToArray();
        var cursor = _input.GetRowCursor(inputColumns, rand);
        return new Cursor(this, cursor, needed.Where(c => c.Index >= _input.Schema.Count).Select(c => c.Index).ToHashSet(), adding ? _added.CreateGetters(cursor) : null);
    }

    public DataViewRowCursor[] GetRowCursorSet(IEnumerable<DataViewSchema.Column> columnsNeeded, int n, Random? rand = null) =>
        new[] { GetRowCursor(columnsNeeded, rand) };

    private sealed class Cursor : DataViewRowCursor
    {
        private readonly AddedColumnsDataView _parent;
        private readonly DataViewRowCursor _input;
        private readonly HashSet<int> _active;
        private readonly Delegate[]? _getters;

        public Cursor(AddedColumnsDataView parent, DataViewRowCursor input, HashSet<int> active, Delegate[]? getters)
        {
            _parent = parent;
            _input = input;
            _active = active;
            _getters = getters;
        }

        public override DataViewSchema Schema => _parent.Schema;
        public override long Position => _input.Position;
        public override long Batch => _input.Batch;
        public override bool MoveNext() => _input.MoveNext();
        public override ValueGetter<DataViewRowId> GetIdGetter() => _input.GetIdGetter();

        public override bool IsColumnActive(DataViewSchema.Column column) =>
            column.Index < _input.Schema.Count ? _input.IsColumnActive(_input.Schema[column.Index]) : _active.Contains(column.Index);

        public override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
        {
            if (column.Index < _input.Schema.Count) return _input.GetGetter<TValue>(_input.Schema[column.Index]);
            if (!_active.Contains(column.Index) || _getters is null)
                throw new InvalidOperationException($"column '{column.Name}' was not requested when the cursor was created");
            return _getters[column.Index - _input.Schema.Count] as ValueGetter<TValue>
                   ?? throw new InvalidOperationException($"column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}");
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing) _input.Dispose();
            base.Dispose(disposing);
        }
    }
}

/// <summary>The row-to-row form of <see cref="AddedColumns"/>, for PredictionEngine.</summary>
internal sealed class AddedColumnsRowMapper : IRowToRowMapper
{
    private readonly AddedColumns _added;

    public AddedColumnsRowMapper(DataViewSchema inputSchema, AddedColumns added)
    {
        InputSchema = inputSchema;
        OutputSchema = added.Extend(inputSchema);
        _added = added;
    }

    public DataViewSchema InputSchema { get; }
    public DataViewSchema OutputSchema { get; }

    public IEnumerable<DataViewSchema.Column> GetDependencies(IEnumerable<DataViewSchema.Column> dependingColumns)
    {
        var needed = dependingColumns.ToArray();
        var inputs = needed.Where(c => c.Index < InputSchema.Count).Select(c => InputSchema[c.Index]);
        if (needed.Any(c => c.Index >= InputSchema.Count)) inputs = inputs.Concat(_added.Dependencies(InputSchema));
        return inputs.DistinctBy(c => c.Index).ToArray();
    }

    public DataViewRow GetRow(DataViewRow input, IEnumerable<DataViewSchema.Column> activeColumns) =>
        new Row(this, input, activeColumns.Select(c => c.Index).ToHashSet());

    private sealed class Row : DataViewRow
    {
        private readonly AddedColumnsRowMapper _parent;
        private readonly DataViewRow _input;
        private readonly HashSet<int> _active;
        private readonly Lazy<Delegate[]> _getters;

        public Row(AddedColumnsRowMapper parent, DataViewRow input, HashSet<int> active)
        {
            _parent = parent;
            _input = input;
            _active = active;
            _getters = new Lazy<Delegate[]>(() => parent._added.CreateGetters(input));
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
            return _getters.Value[column.Index - _input.Schema.Count] as ValueGetter<TValue>
                   ?? throw new InvalidOperationException($"column '{column.Name}' has type {column.Type}, not {typeof(TValue).Name}");
        }
    }
}
