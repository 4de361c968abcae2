using System.Diagnostics;
using System.IO.Compression;
using System.Text;
using System.Xml.Linq;

namespace MLNetSeg.Packaging.Tests;

/// <summary>
/// The packages as `dotnet pack` makes them (packed here from the built solution, with a version
/// of their own so that no earlier package in the NuGet cache can stand in): the libraries'
/// content and metadata, a fresh project outside the repository (its own csproj, no repository
/// props) that restores them from a folder feed and runs the README's snippets, and the CLI tool.
/// </summary>
[TestClass]
public sealed class PackageTests
{
    private static string feed = "";
    private static string version = "";

    private static readonly string[] EngineAssemblies =
        ["MLNetSeg.Torch", "MLNetSeg.Vision", "MLNetSeg.Data", "MLNetSeg.Evaluation", "MLNetSeg.Models", "MLNetSeg.Training"];

    private static readonly string[] MLNetAssemblies = ["MLNetSeg.Transforms", "MLNetSeg.Trainers"];

    private static readonly string[] OnnxAssemblies = ["MLNetSeg.Onnx", "MLNetSeg.Onnx.Export", "MLNetSeg.Onnx.MLNet"];

    [ClassInitialize]
    public static void Pack(TestContext _)
    {
        version = $"0.1.0-test.{DateTime.UtcNow:yyyyMMddHHmmss}.{Environment.ProcessId}";
        feed = Directory.CreateTempSubdirectory("mlnetseg-feed-").FullName;
        string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Debug{Path.DirectorySeparatorChar}") ? "Debug" : "Release";
        foreach (var project in new[] { "packaging/MLNetSeg/MLNetSeg.csproj", "packaging/MLNetSeg.MLNet/MLNetSeg.MLNet.csproj", "packaging/MLNetSeg.Onnx/MLNetSeg.Onnx.Package.csproj", "src/Cli/MLNetSeg.Cli.csproj" })
            Dotnet(Repo.Root, TimeSpan.FromMinutes(3), "pack", project, "-c", configuration, "--no-build", "-o", feed, $"-p:Version={version}", "-nologo");
    }

    [ClassCleanup]
    public static void Cleanup()
    {
        if (feed.Length > 0) Directory.Delete(feed, recursive: true);
        // The consumer's restore put this run's packages in the NuGet cache; nothing else will use them.
        var cache = Environment.GetEnvironmentVariable("NUGET_PACKAGES") is { Length: > 0 } env ? env
            : Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".nuget", "packages");
        foreach (var id in new[] { "mlnetseg", "mlnetseg.mlnet", "mlnetseg.onnx", "mlnetseg.cli" })
        {
            var dir = Path.Combine(cache, id, version);
            if (version.Length > 0 && Directory.Exists(dir)) Directory.Delete(dir, recursive: true);
            var idDir = Path.GetDirectoryName(dir)!;
            if (Directory.Exists(idDir) && !Directory.EnumerateFileSystemEntries(idDir).Any()) Directory.Delete(idDir);
        }
    }

    [TestMethod]
    public void TheEnginePackageHoldsTheAssembliesTheirDocsTheNativeShimAndNoDependencies()
    {
        using var package = ZipFile.OpenRead(Path.Combine(feed, $"MLNetSeg.{version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var assembly in EngineAssemblies)
        {
            Assert.IsTrue(entries.Contains($"lib/net10.0/{assembly}.dll"), $"{assembly}.dll is missing");
            Assert.IsTrue(entries.Contains($"lib/net10.0/{assembly}.xml"), $"{assembly}.xml (API docs) is missing");
        }
        Assert.AreEqual(EngineAssemblies.Length, entries.Count(e => e.StartsWith("lib/", StringComparison.Ordinal) && e.EndsWith(".dll", StringComparison.Ordinal)),
            "only the engine's assemblies: " + string.Join(", ", entries.Where(e => e.StartsWith("lib/", StringComparison.Ordinal))));
        var shim = package.GetEntry("runtimes/linux-x64/native/libmlnetseg_native.so");
        Assert.IsNotNull(shim, "the native shim is missing");
        Assert.AreEqual(new FileInfo(Repo.File("src", "Native", "build", "libmlnetseg_native.so")).Length, shim.Length, "the shim is the one built");

        var nuspec = Nuspec(package);
        CheckCommonMetadata(nuspec, "MLNetSeg", package);
        Assert.AreEqual(0, nuspec.Descendants(Ns(nuspec) + "dependency").Count(), "the engine needs no other package");
    }

    [TestMethod]
    public void TheMLNetPackageDependsOnTheEnginePackageAndMicrosoftML()
    {
        using var package = ZipFile.OpenRead(Path.Combine(feed, $"MLNetSeg.MLNet.{version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var assembly in MLNetAssemblies)
        {
            Assert.IsTrue(entries.Contains($"lib/net10.0/{assembly}.dll"), $"{assembly}.dll is missing");
            Assert.IsTrue(entries.Contains($"lib/net10.0/{assembly}.xml"), $"{assembly}.xml (API docs) is missing");
        }
        Assert.IsFalse(entries.Any(e => e.StartsWith("lib/net10.0/MLNetSeg.Torch", StringComparison.Ordinal) || e.StartsWith("runtimes/", StringComparison.Ordinal)),
            "the engine comes from its own package, not a second copy");
        var nuspec = Nuspec(package);
        CheckCommonMetadata(nuspec, "MLNetSeg.MLNet", package);
        var dependencies = nuspec.Descendants(Ns(nuspec) + "dependency")
            .Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}").Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[] { $"MLNetSeg {version}", "Microsoft.ML 6.0.0", "Microsoft.ML.ImageAnalytics 6.0.0" }, dependencies);
    }

    [TestMethod]
    public void TheOnnxPackageBundlesExporterRuntimeAndMLNetRouteAndDependsOnOnnxRuntime()
    {
        using var package = ZipFile.OpenRead(Path.Combine(feed, $"MLNetSeg.Onnx.{version}.nupkg"));
        var entries = package.Entries.Select(e => e.FullName).ToHashSet();
        foreach (var assembly in OnnxAssemblies)
        {
            Assert.IsTrue(entries.Contains($"lib/net10.0/{assembly}.dll"), $"{assembly}.dll is missing");
            Assert.IsTrue(entries.Contains($"lib/net10.0/{assembly}.xml"), $"{assembly}.xml (API docs) is missing");
        }
        Assert.IsFalse(entries.Any(e => e.StartsWith("lib/net10.0/MLNetSeg.Torch", StringComparison.Ordinal) || e.StartsWith("lib/net10.0/MLNetSeg.Transforms", StringComparison.Ordinal)
                                        || e.StartsWith("runtimes/", StringComparison.Ordinal)),
            "the engine and the ML.NET components come from their own packages, ONNX Runtime from its own");
        var nuspec = Nuspec(package);
        CheckCommonMetadata(nuspec, "MLNetSeg.Onnx", package);
        var dependencies = nuspec.Descendants(Ns(nuspec) + "dependency")
            .Select(d => $"{d.Attribute("id")!.Value} {d.Attribute("version")!.Value}").Order(StringComparer.Ordinal).ToArray();
        CollectionAssert.AreEqual(new[]
        {
            $"MLNetSeg.MLNet {version}", "Microsoft.ML.OnnxRuntime.Gpu 1.32.0", "Microsoft.ML.OnnxTransformer 6.0.0", "OnnxSharp 0.3.2",
            "SkiaSharp 3.119.4", "SkiaSharp.NativeAssets.Linux.NoDependencies 3.119.4",
        }, dependencies);
    }

    /// <summary>
    /// A user's project in a temporary folder outside the repository (no Directory.Build.props
    /// applies) restores MLNetSeg.MLNet from the folder feed and runs the README's snippets,
    /// compiled from the same file the README is checked against. The one change to them: the
    /// ML.NET snippet trains 1 iteration instead of 20,000 (at torchvision's 800-pixel size a ResNet-50 step takes about a minute on 2 cores).
    /// </summary>
    [TestMethod]
    [Timeout(15 * 60 * 1000)]
    public void AFreshProjectOutsideTheRepositoryRestoresThePackagesAndRunsTheReadmeSnippets()
    {
        var root = Directory.CreateTempSubdirectory("mlnetseg-consumer-");
        try
        {
            var project = Directory.CreateDirectory(Path.Combine(root.FullName, "app")).FullName;
            var work = Directory.CreateDirectory(Path.Combine(root.FullName, "work")).FullName;
            foreach (var file in new[] { "Consumer.csproj", "Program.cs" })
                File.Copy(Repo.File("tests", "MLNetSeg.Packaging.Tests", "Consumer", file), Path.Combine(project, file));
            var snippets = File.ReadAllText(Repo.File("tests", "MLNetSeg.Packaging.Tests", "Readme", "ReadmeSnippets.cs"));
            Assert.AreEqual(2, snippets.Split("iterations: 20_000").Length, "the ML.NET snippet names its training length once");
            File.WriteAllText(Path.Combine(project, "ReadmeSnippets.cs"), snippets.Replace("iterations: 20_000", "iterations: 1"));
            File.WriteAllText(Path.Combine(project, "nuget.config"), ConsumerNugetConfig());

            var output = Dotnet(project, TimeSpan.FromMinutes(14), "run", "-c", "Release", $"-p:MLNetSegVersion={version}", "--", work);
            foreach (var check in new[] { "typed-predict", "mlnet-train", "mlnet-predict", "zip-round-trip", "engine" })
                StringAssert.Contains(output, $"CHECK {check}: ok", $"consumer output:\n{Tail(output)}");
            StringAssert.Contains(output, "CONSUMER OK");
            var assets = File.ReadAllText(Path.Combine(project, "obj", "project.assets.json"));
            StringAssert.Contains(assets, $"MLNetSeg/{version}", "the engine came from the package feed");
            Assert.IsFalse(assets.Contains(Repo.Root + "/src", StringComparison.Ordinal), "the consumer must not see the repository's projects");
        }
        finally { root.Delete(recursive: true); }
    }

    /// <summary>
    /// The CLI as a .NET tool: installed from the feed into a folder of its own, the `mlnetseg`
    /// command lists the families and generates a dataset (which loads the native shim it carries).
    /// </summary>
    [TestMethod]
    public void TheCliToolInstallsFromTheFeedAndRuns()
    {
        var root = Directory.CreateTempSubdirectory("mlnetseg-tool-");
        try
        {
            File.WriteAllText(Path.Combine(root.FullName, "nuget.config"), ConsumerNugetConfig());
            var tools = Path.Combine(root.FullName, "tools");
            Dotnet(root.FullName, TimeSpan.FromMinutes(3), "tool", "install", "MLNetSeg.Cli", "--tool-path", tools, "--version", version);
            var mlnetseg = Path.Combine(tools, "mlnetseg");
            var families = Run(mlnetseg, root.FullName, "families");
            StringAssert.Contains(families, "maskrcnn", families);
            StringAssert.Contains(families, "keypointrcnn", families);
            var data = Path.Combine(root.FullName, "data");
            Run(mlnetseg, root.FullName, "generate", "--preset", "tiny", "--out", data);
            Assert.AreEqual(16, Directory.GetFiles(Path.Combine(data, "train"), "*.png").Length, "the tiny preset's 16 training images");
        }
        finally { root.Delete(recursive: true); }
    }

    /// <summary>The repository's package sources (whatever mirror this machine uses), with the feed first.</summary>
    private static string ConsumerNugetConfig()
    {
        var config = XDocument.Load(Repo.File("nuget.config"));
        var sources = config.Root!.Element("packageSources")!;
        sources.Element("clear")!.AddAfterSelf(new XElement("add", new XAttribute("key", "mlnetseg-feed"), new XAttribute("value", feed)));
        return config.ToString();
    }

    private static void CheckCommonMetadata(XDocument nuspec, string id, ZipArchive package)
    {
        var ns = Ns(nuspec);
        var metadata = nuspec.Root!.Element(ns + "metadata")!;
        Assert.AreEqual(id, metadata.Element(ns + "id")!.Value);
        Assert.AreEqual(version, metadata.Element(ns + "version")!.Value);
        Assert.AreEqual("MIT", metadata.Element(ns + "license")!.Value);
        Assert.AreEqual("README.md", metadata.Element(ns + "readme")!.Value);
        Assert.IsTrue(metadata.Element(ns + "description")!.Value.Length > 80, "a real description");
        var repository = metadata.Element(ns + "repository");
        Assert.AreEqual("git", repository?.Attribute("type")?.Value, "repository metadata");
        Assert.AreEqual(40, repository!.Attribute("commit")?.Value.Length, "the commit the package was built from");
        Assert.IsNotNull(package.GetEntry("README.md"));
        Assert.IsNotNull(package.GetEntry("LICENSE"));
    }

    private static XDocument Nuspec(ZipArchive package)
    {
        using var stream = package.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open();
        return XDocument.Load(stream);
    }

    private static XNamespace Ns(XDocument nuspec) => nuspec.Root!.Name.Namespace;

    private static string Tail(string text) => text.Length <= 6000 ? text : "..." + text[^6000..];

    /// <summary>Runs the dotnet CLI; fails the test with the output's tail when it fails.</summary>
    private static string Dotnet(string workingDirectory, TimeSpan timeout, params string[] arguments) =>
        Run("dotnet", workingDirectory, timeout, arguments);

    private static string Run(string program, string workingDirectory, params string[] arguments) =>
        Run(program, workingDirectory, TimeSpan.FromMinutes(2), arguments);

    /// <summary>Runs <paramref name="program"/>; fails the test with the output's tail when it fails or runs past <paramref name="timeout"/>.</summary>
    private static string Run(string program, string workingDirectory, TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo(program) { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in arguments) start.ArgumentList.Add(a);
        // The test host runs under MSBuild's environment; a child build must not inherit it.
        foreach (var key in start.Environment.Keys.Where(k => k.StartsWith("MSBUILD", StringComparison.OrdinalIgnoreCase)).ToList())
            start.Environment.Remove(key);
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data is not null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (!process.WaitForExit(timeout))
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"{program} {string.Join(' ', arguments)} ran past {timeout}:\n{Tail(output.ToString())}");
        }
        process.WaitForExit();
        string text;
        lock (output) text = output.ToString();
        Assert.AreEqual(0, process.ExitCode, $"{program} {string.Join(' ', arguments)} failed:\n{Tail(text)}");
        return text;
    }
}
