using Microsoft.ML;
using Microsoft.ML.Data;

namespace MLNetSeg.Transforms.Tests.Data;

/// <summary>Reads a data view's rows through its own cursor into plain .NET values (text → string, vectors → arrays).</summary>
internal static class DataViewRows
{
    public static List<Dictionary<string, object>> Read(IDataView view, params string[] columns)
    {
        var selected = (columns.Length == 0 ? view.Schema.Select(c => c.Name) : columns).Select(n => view.Schema[n]).ToArray();
        using var cursor = view.GetRowCursor(selected);
        var readers = selected.Select(c => Reader(cursor, c)).ToArray();
        var rows = new List<Dictionary<string, object>>();
        while (cursor.MoveNext())
        {
            var row = new Dictionary<string, object>();
            for (int i = 0; i < selected.Length; i++) row[selected[i].Name] = readers[i]();
            rows.Add(row);
        }
        return rows;
    }

    public static string[] TextVectorAnnotation(DataViewSchema.Column column, string kind)
    {
        VBuffer<ReadOnlyMemory<char>> value = default;
        column.Annotations.GetValue(kind, ref value);
        return value.DenseValues().Select(v => v.ToString()).ToArray();
    }

    private static Func<object> Reader(DataViewRow row, DataViewSchema.Column c)
    {
        var type = c.Type is VectorDataViewType v ? v.ItemType : c.Type;
        bool vector = c.Type is VectorDataViewType;
        return type switch
        {
            TextDataViewType => vector ? Vector<ReadOnlyMemory<char>, string>(row, c, x => x.ToString()) : Scalar<ReadOnlyMemory<char>, string>(row, c, x => x.ToString()),
            KeyDataViewType => Vector<uint, uint>(row, c, x => x),
            BooleanDataViewType => Vector<bool, bool>(row, c, x => x),
            NumberDataViewType n when n.RawType == typeof(float) => Vector<float, float>(row, c, x => x),
            NumberDataViewType n when n.RawType == typeof(double) => Vector<double, double>(row, c, x => x),
            NumberDataViewType n when n.RawType == typeof(long) => Scalar<long, long>(row, c, x => x),
            NumberDataViewType n when n.RawType == typeof(int) => Scalar<int, int>(row, c, x => x),
            _ => throw new NotSupportedException($"column {c.Name} of type {c.Type}"),
        };
    }

    private static Func<object> Scalar<T, TOut>(DataViewRow row, DataViewSchema.Column c, Func<T, TOut> convert) where TOut : notnull
    {
        var getter = row.GetGetter<T>(c);
        return () =>
        {
            T value = default!;
            getter(ref value);
            return convert(value);
        };
    }

    private static Func<object> Vector<T, TOut>(DataViewRow row, DataViewSchema.Column c, Func<T, TOut> convert)
    {
        var getter = row.GetGetter<VBuffer<T>>(c);
        return () =>
        {
            VBuffer<T> value = default;
            getter(ref value);
            return value.DenseValues().Select(convert).ToArray();
        };
    }
}
