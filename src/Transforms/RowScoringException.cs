namespace MLNetSeg.Transforms;

/// <summary>An image could not be scored: names the row and the image column; the cause is inside.</summary>
public sealed class RowScoringException : Exception
{
    internal RowScoringException(long row, string column, Exception inner)
        : base($"row {row}, column '{column}': {inner.Message}", inner)
    {
        Row = row;
        Column = column;
    }

    /// <summary>The row's position in the data view (0-based).</summary>
    public long Row { get; }

    /// <summary>The image column that was read.</summary>
    public string Column { get; }
}
