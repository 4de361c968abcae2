using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetSeg.Transforms;

/// <summary>
/// A forward-only cursor over the rows 0 … count−1 of an in-memory index, for the file-backed data
/// views. It checks what every getter needs (active column, getter type, the cursor on a row) and
/// leaves computing a value to <see cref="MakeGetter"/>.
/// </summary>
internal abstract class IndexedRowCursor : DataViewRowCursor
{
    private readonly bool[] _active;
    private readonly int _count;
    private readonly string _viewName;
    private long _position = -1;
    private bool _done;

    protected IndexedRowCursor(DataViewSchema schema, IEnumerable<DataViewSchema.Column> columnsNeeded, int count, string viewName)
    {
        ArgumentNullException.ThrowIfNull(columnsNeeded);
        Schema = schema;
        _count = count;
        _viewName = viewName;
        _active = new bool[schema.Count];
        foreach (var column in columnsNeeded) _active[CheckColumn(column).Index] = true;
    }

    public sealed override DataViewSchema Schema { get; }

    public sealed override long Position => _position;

    /// <summary>A single cursor: every row is in batch 0.</summary>
    public sealed override long Batch => 0;

    /// <summary>The row the cursor is on (0-based), checked.</summary>
    protected int Row =>
        _position >= 0 ? (int)_position : throw new InvalidOperationException(
            $"{_viewName}: the cursor is not on a row ({(_done ? "it has passed the last row" : "call MoveNext first")})");

    public sealed override bool MoveNext()
    {
        if (_done) return false;
        if (_position + 1 < _count)
        {
            _position++;
            return true;
        }
        _position = -1;
        _done = true;
        return false;
    }

    public sealed override ValueGetter<DataViewRowId> GetIdGetter() =>
        (ref DataViewRowId value) => value = new DataViewRowId((ulong)Row, 0);

    public sealed override bool IsColumnActive(DataViewSchema.Column column) => _active[CheckColumn(column).Index];

    public sealed override ValueGetter<TValue> GetGetter<TValue>(DataViewSchema.Column column)
    {
        CheckColumn(column);
        if (!_active[column.Index])
            throw new InvalidOperationException(
                $"{_viewName}: column '{column.Name}' is not active in this cursor; list it in the columns passed to GetRowCursor");
        Delegate getter = MakeGetter(column.Index);
        return getter as ValueGetter<TValue> ?? throw new InvalidOperationException(
            $"{_viewName}: column '{column.Name}' is {column.Type}, read with ValueGetter<{TypeName(getter.GetType().GenericTypeArguments[0])}>, " +
            $"not ValueGetter<{TypeName(typeof(TValue))}>");
    }

    /// <summary>The column's getter (a <c>ValueGetter&lt;T&gt;</c> of the column's representation type).</summary>
    protected abstract Delegate MakeGetter(int columnIndex);

    private static string TypeName(Type t) =>
        t.IsGenericType ? $"{t.Name[..t.Name.IndexOf('`')]}<{string.Join(", ", t.GenericTypeArguments.Select(TypeName))}>" : t.Name;

    private DataViewSchema.Column CheckColumn(DataViewSchema.Column column)
    {
        if (column.Index < 0 || column.Index >= Schema.Count || Schema[column.Index].Name != column.Name)
            throw new ArgumentException(
                $"{_viewName}: column '{column.Name}' (index {column.Index}) is not a column of this data view ({string.Join(", ", Schema.Select(c => c.Name))})",
                nameof(column));
        return column;
    }
}
