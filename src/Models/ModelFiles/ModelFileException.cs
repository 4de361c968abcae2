namespace MLNetSeg.Models;

/// <summary>A model file that cannot be read or does not hold what was asked for. The message
/// starts with the file's path and says what is wrong.</summary>
public sealed class ModelFileException : IOException
{
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
