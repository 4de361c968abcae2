using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text.Json;
using MLNetSeg.Training;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Transforms.Persistence;

/// <summary>
/// A transformer's model and output settings as one text value, the form in which model.zip
/// carries it (inside a MapValue lookup: see <see cref="PersistedScoring"/>):
/// <c>"mlnetseg.mlnet/1\n" + settings JSON + "\n" + base64(.mlseg file)</c>.
/// Parsed models are cached per state string, so the model is rebuilt once per loaded pipeline and
/// process, not per row: the MapValue hands every row the same string without copying it. A cached
/// model lives as long as the loaded pipeline's string (ML.NET's transformers are not disposable), and
/// its native memory is freed by the finalizer after the pipeline is collected.
/// </summary>
internal static class ModelState
{
    public const string Magic = "mlnetseg.mlnet/1";

    private static readonly ConditionalWeakTable<object, SegmentationScorer> Cache = new();
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, object> ByContent = new();

    public static string Write(SegmentationScorer scorer)
    {
        var temp = Path.Combine(Path.GetTempPath(), $"mlnetseg-{Guid.NewGuid():N}.mlseg");
        try
        {
            scorer.Model.Save(temp);
            var settings = new StoredSettings(scorer.Settings.ScoreThreshold, scorer.Settings.BatchSize);
            return Magic + "\n" + JsonSerializer.Serialize(settings) + "\n" + Convert.ToBase64String(File.ReadAllBytes(temp));
        }
        finally
        {
            File.Delete(temp);
        }
    }

    /// <summary>The scorer for a state value, parsed on first use for this string and cached with it.</summary>
    public static SegmentationScorer Get(ReadOnlyMemory<char> state)
    {
        // The map hands out the same string every row: key the cache by that object.
        object? owner = MemoryMarshal.TryGetString(state, out var text, out _, out _) ? text
            : MemoryMarshal.TryGetArray(state, out ArraySegment<char> segment) ? segment.Array : null;
        // Not backed by a string or array (not what ML.NET 6's map hands out): key by content, so
        // the model is still built once per distinct state (and kept for the process).
        owner ??= ByContent.GetOrAdd(Convert.ToHexString(System.Security.Cryptography.SHA256.HashData(
            System.Text.Encoding.UTF8.GetBytes(state.ToString()))), _ => new object());
        lock (Cache)
        {
            if (Cache.TryGetValue(owner, out var cached)) return cached;
            var scorer = Parse(state.Span);
            Cache.Add(owner, scorer);
            return scorer;
        }
    }

    private static int _parses;

    /// <summary>Models rebuilt from state text in this process (tests check the cache works).</summary>
    internal static int Parses => Volatile.Read(ref _parses);

    private static SegmentationScorer Parse(ReadOnlySpan<char> state)
    {
        Interlocked.Increment(ref _parses);
        int first = state.IndexOf('\n');
        if (first < 0 || !state[..first].SequenceEqual(Magic))
            throw new InvalidDataException($"the saved MLNetSeg model state does not start with '{Magic}': the zip was not written by this version of MLNetSeg, or it is damaged");
        var rest = state[(first + 1)..];
        int second = rest.IndexOf('\n');
        if (second < 0) throw new InvalidDataException("the saved MLNetSeg model state is truncated (no model after the settings)");
        StoredSettings settings;
        try { settings = JsonSerializer.Deserialize<StoredSettings>(rest[..second].ToString()) ?? throw new JsonException("null"); }
        catch (JsonException e) { throw new InvalidDataException($"the saved MLNetSeg model settings are not valid: {e.Message}", e); }
        byte[] bytes;
        try { bytes = Convert.FromBase64String(rest[(second + 1)..].ToString()); }
        catch (FormatException e) { throw new InvalidDataException("the saved MLNetSeg model is damaged (its base64 text does not decode)", e); }

        var temp = Path.Combine(Path.GetTempPath(), $"mlnetseg-{Guid.NewGuid():N}.mlseg");
        try
        {
            File.WriteAllBytes(temp, bytes);
            TrainedModel model;
            try { model = TrainedModel.Load(temp); }
            catch (IOException e)
            {
                throw new InvalidDataException($"the model saved in the zip cannot be loaded: {e.Message.Replace(temp, "(model in zip)")}", e);
            }
            return new SegmentationScorer(model, new SegmentationScoringSettings { ScoreThreshold = settings.ScoreThreshold, BatchSize = settings.BatchSize });
        }
        finally
        {
            File.Delete(temp);
        }
    }

    private sealed record StoredSettings(float ScoreThreshold, int BatchSize);
}
