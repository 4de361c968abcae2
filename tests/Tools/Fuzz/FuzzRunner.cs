using System.Diagnostics;
using System.Security.Cryptography;

namespace MLNetSeg.Fuzz;

/// <summary>What one bounded run of a target found (one JSON line of <c>mlnetseg-fuzz smoke</c>). The counts are
/// of mutated inputs (the seeds run first and must all parse).</summary>
public sealed record FuzzReport(
    string Target,
    int Executions,
    int Accepted,
    int Rejected,
    double MaxMilliseconds,
    long MaxAllocatedBytes,
    long RssGrowthBytes,
    IReadOnlyList<FuzzFinding> Findings);

/// <summary>An input that broke the rules: an unexpected exception, a rejection not naming the file,
/// a hang, or an allocation out of proportion to the input. <see cref="InputPath"/> is a saved copy.</summary>
public sealed record FuzzFinding(string Kind, string Detail, string InputPath);

/// <summary>
/// Runs inputs through a <see cref="FuzzTarget"/> and judges each: parsed (accepted), rejected by a
/// clean managed exception naming the file, or a finding. The rules (docs/reliability.md):
/// <list type="bullet">
/// <item>no exception outside the target's rejection types, and every rejection names the file;</item>
/// <item>no input runs longer than the target's <see cref="FuzzTarget.HangLimit"/> (a watchdog ends the process, exit code 3,
/// leaving the input behind: a native hang cannot be interrupted any other way);</item>
/// <item>managed allocation per input at most <see cref="AllocationLimit"/> (size checks before
/// allocation: a 1 KB input may not allocate a gigabyte); resident memory may not grow by more than
/// 1 GiB over the run (native allocations).</item>
/// </list>
/// A process abort (native crash) ends the process; the input that caused it is the file left at
/// <see cref="InputPath"/>.
/// </summary>
public sealed class FuzzRunner
{
    private const long RssGrowthLimit = 1L << 30;

    private readonly FuzzTarget _target;
    private readonly string _findings;
    private long _startedTicks; // 0 while idle; read by the watchdog

    /// <summary>A runner for <paramref name="target"/> writing its inputs and findings under <paramref name="findingsDirectory"/>.</summary>
    public FuzzRunner(FuzzTarget target, string findingsDirectory)
    {
        _target = target;
        _findings = Directory.CreateDirectory(findingsDirectory).FullName;
        InputPath = Path.Combine(_findings, "fuzz-input" + target.Extension);
    }

    /// <summary>Where each input is written before it is parsed (after a crash, the culprit).</summary>
    public string InputPath { get; }

    /// <summary>Managed bytes one input of <paramref name="length"/> bytes may allocate.</summary>
    public static long AllocationLimit(long length) => (64L << 20) + 256 * length;

    /// <summary>Runs <paramref name="executions"/> mutated inputs drawn from <paramref name="seeds"/>;
    /// stops at the first finding unless <paramref name="keepGoing"/> (then one finding per distinct cause).</summary>
    public FuzzReport Run(IReadOnlyList<byte[]> seeds, int executions, int seed, bool keepGoing = false, TimeSpan? timeLimit = null)
    {
        var mutator = new Mutator(seeds, _target.IsText, seed);
        var findings = new List<FuzzFinding>();
        var causes = new HashSet<string>();
        int accepted = 0, rejected = 0, done = 0;
        double maxMs = 0;
        long maxAllocated = 0, baselineRss = 0, peakRss = 0;
        var clock = Stopwatch.StartNew();
        CancellationTokenSource? watchdog = null;
        try
        {
            // The seeds first (they must parse: a corpus that does not is no corpus), then mutations.
            // Only mutated inputs are counted: the seeds are the corpus, not executions.
            for (int i = 0; i < executions + seeds.Count; i++)
            {
                bool isSeed = i < seeds.Count;
                var input = isSeed ? seeds[i] : mutator.Next();
                var outcome = Execute(input, out double ms, out long allocated);
                // The first input pays for JIT compilation and native library loading (seconds for the
                // model formats): the hang watchdog starts after it.
                watchdog ??= StartWatchdog();
                if (isSeed)
                {
                    if (outcome is not null)
                        throw new InvalidDataException($"{_target.Name}: seed {i} does not parse: {outcome.Value.Error.GetType().Name}: {outcome.Value.Error.Message}");
                    continue;
                }
                done++;
                maxMs = Math.Max(maxMs, ms);
                maxAllocated = Math.Max(maxAllocated, allocated);
                if (outcome is null) accepted++;
                else if (outcome.Value.Finding is null) rejected++;

                string? problem = outcome?.Finding;
                if (problem is null && allocated > AllocationLimit(input.Length))
                    problem = $"allocated {allocated >> 20} MiB for a {input.Length}-byte input";
                if (done == Math.Min(50, executions / 4) + 1) baselineRss = peakRss = ResidentBytes();
                if (baselineRss > 0 && done % 25 == 0)
                {
                    peakRss = Math.Max(peakRss, ResidentBytes());
                    if (problem is null && peakRss - baselineRss > RssGrowthLimit)
                        problem = $"resident memory grew by {(peakRss - baselineRss) >> 20} MiB";
                }
                if (problem is not null)
                {
                    string cause = problem.Split(':')[0] + " @ " + FirstProjectFrame(outcome?.Error);
                    if (causes.Add(cause)) findings.Add(Save(input, problem, outcome?.Error));
                    if (!keepGoing) break;
                }
                if (timeLimit is { } limit && clock.Elapsed > limit) break;
            }
        }
        finally
        {
            watchdog?.Cancel();
        }
        if (File.Exists(InputPath)) File.Delete(InputPath);
        return new FuzzReport(_target.Name, done, accepted, rejected, Math.Round(maxMs, 1), maxAllocated, Math.Max(0, peakRss - baselineRss), findings);
    }

    /// <summary>Parses one input. Null: accepted. Otherwise the exception and, when it is no clean
    /// rejection, why (<see cref="FuzzTarget.Judge"/>).</summary>
    public (Exception Error, string? Finding)? Execute(byte[] input, out double milliseconds, out long allocated)
    {
        File.WriteAllBytes(InputPath, input);
        long before = GC.GetAllocatedBytesForCurrentThread();
        long start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _startedTicks, start);
        try
        {
            _target.Parse(InputPath);
            return null;
        }
        catch (Exception e)
        {
            return (e, _target.Judge(e, InputPath));
        }
        finally
        {
            Volatile.Write(ref _startedTicks, 0);
            milliseconds = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        }
    }

    private FuzzFinding Save(byte[] input, string problem, Exception? error)
    {
        string name = $"{_target.Name}-{Convert.ToHexString(SHA256.HashData(input))[..12].ToLowerInvariant()}{_target.Extension}";
        string path = Path.Combine(_findings, name);
        File.WriteAllBytes(path, input);
        File.WriteAllText(path + ".finding", $"{problem}\n\n{error}");
        return new FuzzFinding(problem.Split(':')[0], problem + (error is null ? "" : $"\n{error}"), path);
    }

    private static string FirstProjectFrame(Exception? error) =>
        error?.StackTrace?.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.Contains("MLNetSeg.") && !l.Contains("MLNetSeg.Fuzz")) ?? "";

    private CancellationTokenSource StartWatchdog()
    {
        var stop = new CancellationTokenSource();
        var thread = new Thread(() =>
        {
            while (!stop.Token.WaitHandle.WaitOne(250))
            {
                long started = Volatile.Read(ref _startedTicks);
                if (started != 0 && Stopwatch.GetElapsedTime(started) > _target.HangLimit)
                {
                    string saved = Path.Combine(_findings, $"{_target.Name}-hang{_target.Extension}");
                    File.Copy(InputPath, saved, overwrite: true);
                    Console.Error.WriteLine($"HANG: {_target.Name} ran longer than {_target.HangLimit.TotalSeconds} s on {saved}");
                    Environment.Exit(3);
                }
            }
        }) { IsBackground = true, Name = "fuzz watchdog" };
        thread.Start();
        return stop;
    }

    /// <summary>This process's resident set size (Linux /proc; 0 elsewhere).</summary>
    public static long ResidentBytes()
    {
        try
        {
            foreach (var line in File.ReadLines("/proc/self/status"))
                if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
                    return long.Parse(line.AsSpan(6).Trim().ToString().Split(' ')[0]) * 1024;
        }
        catch (IOException) { }
        return 0;
    }
}
