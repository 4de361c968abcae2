using Microsoft.ML;
using Microsoft.ML.Data;
using MLNetSeg.Transforms.Scoring;

namespace MLNetSeg.Transforms.Persistence;

/// <summary>
/// Builds the chain of ML.NET's own savable transformers that stands for one of ours in model.zip
/// (<see cref="PersistedScoring"/>): each step is fitted on an empty view of the schema so far, and the
/// usual tail turns the fixed-name scored columns into the user's output columns.
/// </summary>
internal sealed class SavedChain
{
    private readonly List<ITransformer> _steps = new();
    private IDataView _data;

    public SavedChain(DataViewSchema inputSchema)
    {
        var clash = inputSchema.FirstOrDefault(c => c.Name.StartsWith(PersistedColumns.Prefix, StringComparison.Ordinal));
        if (clash.Name is not null) throw new InvalidOperationException($"input column '{clash.Name}' uses the prefix MLNetSeg reserves for saving ({PersistedColumns.Prefix})");
        _data = new EmptyDataView(inputSchema);
    }

    /// <summary>The chain's steps need a context only to be built; saving them does not involve the caller's.</summary>
    public MLContext ML { get; } = new();

    public void Add<T>(IEstimator<T> step) where T : ITransformer
    {
        var transformer = step.Fit(_data);
        _steps.Add(transformer);
        _data = transformer.Transform(_data);
    }

    /// <summary>The outputs under the user's names from the fixed-name <see cref="ScoredRowColumns"/>: the label names through
    /// MapValueToKey with <paramref name="labelNames"/> as key data (the key-typed column with its KeyValues), the rest copied.</summary>
    public void AddScoredOutputs(IReadOnlyList<(string Name, OutputKind Kind)> outputs, IReadOnlyList<string> labelNames)
    {
        var duplicate = labelNames.GroupBy(n => n).FirstOrDefault(g => g.Count() > 1);
        if (duplicate is not null) throw new InvalidOperationException($"class name '{duplicate.Key}' occurs twice: a key-typed label column needs distinct class names");
        foreach (var (name, kind) in outputs)
        {
            if (kind == OutputKind.Label)
            {
                var keyData = ML.Data.LoadFromEnumerable(labelNames.Select(n => new KeyName { Name = n }));
                Add(ML.Transforms.Conversion.MapValueToKey(name, PersistedColumns.LabelNames, keyData: keyData));
            }
            else
            {
                Add(ML.Transforms.CopyColumns(name, PersistedColumns.For(kind)));
            }
        }
    }

    /// <summary>The chain, ending with a DropColumns of the fixed-name temporaries.</summary>
    public ITransformer Build()
    {
        var temporaries = _data.Schema.Select(c => c.Name).Where(n => n.StartsWith(PersistedColumns.Prefix, StringComparison.Ordinal)).Distinct().ToArray();
        if (temporaries.Length > 0) Add(ML.Transforms.DropColumns(temporaries));
        return new TransformerChain<ITransformer>(_steps.ToArray());
    }

    private sealed class KeyName
    {
        public string Name { get; set; } = "";
    }
}
