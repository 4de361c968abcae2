namespace MLNetSeg.Models;

/// <summary>A model file that cannot be read or does not hold what was asked for. The message
/// starts with the file's path and says what is wrong.</summary>
public sealed class ModelFileException : IOException
{
    /// <summary>Creates the exception; its message is "<paramref name="path"/>: <paramref name="problem"/>".</summary>
    /// <param name="path">The model file.</param>
    /// <param name="problem">What is wrong, without the path.</param>
    /// <param name="innerException">The underlying error (e.g. a JSON or IO error), if any.</param>
    public ModelFileException(string path, string problem, Exception? innerException = null)
        : base($"{path}: {problem}", innerException)
    {
        FilePath = path;
        Problem = problem;
    }

    /// <summary>The model file.</summary>
    public string FilePath { get; }

    /// <summary>The message without the path.</summary>
    public string Problem { get; }
}
