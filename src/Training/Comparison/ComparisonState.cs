using System.Text.Json;
using MLNetSeg.Torch.IO;

namespace MLNetSeg.Training.Comparison;

/// <summary>
/// comparison.json: what a comparison has done, so that running it again in the same folder continues it.
/// It records the setting that must not change between runs (candidates, budget, metric, halving factor),
/// the wall time spent, every finished trial, each round's training time and the trial in progress.
/// Written atomically after every change.
/// </summary>
internal sealed class ComparisonState
{
    public const string FileName = "comparison.json";

    public string Setting { get; set; } = "";
    public double ElapsedSeconds { get; set; }
    public List<TrialResult> Trials { get; set; } = new();

    /// <summary>Each round's training time per trial, fixed when the round starts (a resumed round keeps it:
    /// a trial's checkpoints only resume under the same schedule, and the round's trials stay comparable).</summary>
    public List<double> RoundTrainingSeconds { get; set; } = new();
    public InProgress? Current { get; set; }

    public sealed record InProgress(string Candidate, int Round, double TrainingSeconds);

    private string _path = "";

    private static readonly JsonSerializerOptions Json = new() { WriteIndented = true };

    /// <summary>The state in <paramref name="directory"/>, or a fresh one; refuses a folder that holds another comparison.</summary>
    public static ComparisonState Open(string directory, string setting)
    {
        string path = Path.Combine(directory, FileName);
        ComparisonState state;
        if (File.Exists(path))
        {
            try
            {
                state = JsonSerializer.Deserialize<ComparisonState>(File.ReadAllText(path), Json)
                        ?? throw new JsonException("the file holds null");
            }
            catch (JsonException e)
            {
                throw new InvalidDataException($"{path}: not a comparison state ({e.Message}); move it away to start afresh", e);
            }
            if (state.Setting != setting)
                throw new ArgumentException($"{directory} holds another comparison ({state.Setting}); this one is ({setting}): give another folder, or remove it to start afresh");
        }
        else
        {
            state = new ComparisonState { Setting = setting };
        }
        state._path = path;
        return state;
    }

    public TrialResult? Find(string candidate, int round) => Trials.FirstOrDefault(t => t.Candidate == candidate && t.Round == round);

    public void Save() => AtomicFile.WriteAllText(_path, JsonSerializer.Serialize(this, Json), createDirectory: true);
}
