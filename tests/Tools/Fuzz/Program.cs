using System.Text.Json;
using MLNetSeg.Fuzz;

// mlnetseg-fuzz: the fuzz harness's command line (docs/reliability.md).
//   list                                   the targets
//   smoke --target T|all [--execs N] [--seed S] [--findings DIR] [--keep-going] [--minutes M]
//                                          bounded mutation run; one JSON report line per target;
//                                          exit 1 when anything was found
//   afl --target T                         entry point for AFL++ on SharpFuzz-instrumented assemblies
//   repro --target T FILE...               replays saved inputs; exit 1 when any is still a finding
//   seed-models --out DIR                  writes the model-file seeds (mlseg, mlnet-zip, onnx-model)
//                                          under DIR (tests/fixtures/fuzz) from a tiny seeded model
var options = Arguments.Parse(args);
var corpus = options.Get("corpus") ?? FuzzTargets.DefaultCorpusRoot;
var json = new JsonSerializerOptions { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };
switch (options.Command)
{
    case "list":
        foreach (var t in FuzzTargets.All) Console.WriteLine($"{t.Name}\t{FuzzTargets.Seeds(t, corpus).Count} seeds\t{FuzzTargets.Regressions(t, corpus).Count} regressions");
        return 0;

    case "smoke":
    {
        var name = options.Get("target") ?? "all";
        var targets = name == "all" ? FuzzTargets.All : new[] { FuzzTargets.Get(name) };
        int executions = int.Parse(options.Get("execs") ?? "1000");
        int seed = int.Parse(options.Get("seed") ?? "1");
        var findings = options.Get("findings") ?? Path.Combine(Path.GetTempPath(), "mlnetseg-fuzz");
        TimeSpan? limit = options.Get("minutes") is { } m ? TimeSpan.FromMinutes(double.Parse(m, System.Globalization.CultureInfo.InvariantCulture)) : null;
        bool found = false;
        foreach (var target in targets)
        {
            var report = new FuzzRunner(target, Path.Combine(findings, target.Name))
                .Run(FuzzTargets.Seeds(target, corpus), executions, seed, options.Has("keep-going"), limit);
            Console.WriteLine(JsonSerializer.Serialize(report, json));
            found |= report.Findings.Count > 0;
        }
        return found ? 1 : 0;
    }

    case "afl":
    {
        var target = FuzzTargets.Get(options.Get("target") ?? throw new ArgumentException("afl needs --target"));
        var runner = new FuzzRunner(target, Path.Combine(Path.GetTempPath(), $"mlnetseg-afl-{target.Name}-{Environment.ProcessId}"));
        // An unhandled exception is what AFL++ counts as a crash: findings are rethrown, clean rejections are not.
        SharpFuzz.Fuzzer.OutOfProcess.Run(stream =>
        {
            using var buffer = new MemoryStream();
            stream.CopyTo(buffer);
            var outcome = runner.Execute(buffer.ToArray(), out _, out long allocated);
            if (outcome?.Finding is { } finding) throw new FuzzFindingException(finding, outcome.Value.Error);
            if (allocated > FuzzRunner.AllocationLimit(buffer.Length)) throw new FuzzFindingException($"allocated {allocated >> 20} MiB for a {buffer.Length}-byte input", null);
        });
        return 0;
    }

    case "repro":
    {
        var target = FuzzTargets.Get(options.Get("target") ?? throw new ArgumentException("repro needs --target"));
        var runner = new FuzzRunner(target, Path.Combine(Path.GetTempPath(), $"mlnetseg-repro-{Environment.ProcessId}"));
        bool found = false;
        foreach (var file in options.Positional)
        {
            var outcome = runner.Execute(File.ReadAllBytes(file), out double ms, out long allocated);
            string verdict = outcome is null ? "accepted" : outcome.Value.Finding ?? $"rejected: {outcome.Value.Error.Message}";
            Console.WriteLine($"{file}: {verdict} ({ms:F1} ms, {allocated >> 10} KiB)");
            found |= outcome?.Finding is not null;
        }
        return found ? 1 : 0;
    }

    case "seed-models":
        foreach (var file in SeedModels.Write(options.Get("out") ?? throw new ArgumentException("seed-models needs --out DIR (tests/fixtures/fuzz)")))
            Console.WriteLine($"{file}\t{new FileInfo(file).Length} bytes");
        return 0;

    default:
        Console.Error.WriteLine("usage: mlnetseg-fuzz list | smoke --target T|all [--execs N] [--seed S] [--findings DIR] [--keep-going] [--minutes M] | afl --target T | repro --target T FILE... | seed-models --out DIR");
        return 2;
}

/// <summary>A finding, thrown in AFL mode so that AFL++ records the input as a crash.</summary>
internal sealed class FuzzFindingException(string message, Exception? inner) : Exception(message, inner);

/// <summary>"command --key value --flag positional..." arguments.</summary>
internal sealed record Arguments(string Command, Dictionary<string, string?> Named, List<string> Positional)
{
    public static Arguments Parse(string[] args)
    {
        var named = new Dictionary<string, string?>();
        var positional = new List<string>();
        for (int i = 1; i < args.Length; i++)
        {
            if (args[i].StartsWith("--", StringComparison.Ordinal))
            {
                bool hasValue = i + 1 < args.Length && !args[i + 1].StartsWith("--", StringComparison.Ordinal);
                named[args[i][2..]] = hasValue ? args[++i] : null;
            }
            else positional.Add(args[i]);
        }
        return new Arguments(args.Length > 0 ? args[0] : "", named, positional);
    }

    public string? Get(string key) => Named.TryGetValue(key, out var v) ? v : null;

    public bool Has(string key) => Named.ContainsKey(key);
}
