namespace MLNetSeg.Fuzz;

/// <summary>
/// One parser under fuzz. The harness writes each input to a file named <c>fuzz-input{Extension}</c>
/// and calls <see cref="Parse"/> with its path (string parsers read the file's text themselves), so
/// a rejection can be checked to name the file.
/// </summary>
/// <param name="Name">Short id (the corpus folder under fixtures/fuzz/ and the <c>--target</c> value).</param>
/// <param name="Extension">The input file's extension, dot included (some loaders dispatch on it).</param>
/// <param name="IsText">Text formats also get token mutations (numbers, brackets, keywords).</param>
/// <param name="Parse">Reads the file the way a user's call would, and touches what it returned
/// (lazy parsers must do their work inside the call).</param>
/// <param name="Rejections">The exception types that are a clean rejection of bad input; anything
/// else escaping <see cref="Parse"/> is a finding.</param>
/// <param name="NamesFile">Whether a rejection's message must contain the input's file name
/// (true for every parser that takes a path).</param>
/// <param name="SmokeExecutions">Mutated inputs the test suite's smoke runs (sized so that all targets
/// together take about two minutes on two cores).</param>
public sealed record FuzzTarget(
    string Name,
    string Extension,
    bool IsText,
    Action<string> Parse,
    IReadOnlyList<Type> Rejections,
    bool NamesFile = true,
    int SmokeExecutions = 2000)
{
    /// <summary>Exception types (exactly these) that only wrap the error of the code they called, as
    /// ML.NET's model loading and cursors do: their inner exception is judged instead.</summary>
    public IReadOnlyList<Type> Wrappers { get; init; } = Array.Empty<Type>();

    /// <summary>An input running longer than this is a hang. Parsers: 5 s (their inputs are kilobytes and
    /// take milliseconds). Targets that build a whole model per input (an .mlseg, an ML.NET zip, an ONNX
    /// Runtime session) take 0.1–0.5 s and up to ~4.6 s on a loaded 2-core machine: they get 30 s, so that
    /// a busy machine is not reported as a hang while a real one (unbounded work) still is.</summary>
    public TimeSpan HangLimit { get; init; } = DefaultHangLimit;

    /// <summary>The hang limit of the parser targets.</summary>
    public static readonly TimeSpan DefaultHangLimit = TimeSpan.FromSeconds(5);

    /// <summary>The hang limit of the targets that build a model per input.</summary>
    public static readonly TimeSpan ModelHangLimit = TimeSpan.FromSeconds(30);

    /// <summary>Null when <paramref name="error"/> is a clean rejection of the input at
    /// <paramref name="path"/>; otherwise why it is a finding.</summary>
    public string? Judge(Exception error, string path)
    {
        while (Wrappers.Contains(error.GetType()) && error.InnerException is { } inner) error = inner;
        if (!Rejections.Any(t => t.IsInstanceOfType(error)))
            return $"unexpected {error.GetType().FullName}";
        if (NamesFile && !error.Message.Contains(Path.GetFileName(path), StringComparison.Ordinal))
            return $"{error.GetType().Name} does not name the file: \"{error.Message}\"";
        return null;
    }
}
