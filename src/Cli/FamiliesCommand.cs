using System.CommandLine;
using System.Text.Json;
using MLNetSeg.Models;

namespace MLNetSeg.Cli;

/// <summary>
/// <c>mlnetseg families [--family F]</c>: the registered model families, what they output, and their
/// default settings as the JSON that <c>train --model-options</c> reads (each field can also be given
/// with <c>train --set Name=Value</c>).
/// </summary>
internal static class FamiliesCommand
{
    public static Command Create(TextWriter stdout, TextWriter stderr)
    {
        var family = new Option<string?>("--family") { Description = "print only this family's settings" };
        var command = new Command("families", "list the model families and their default settings (for train --set / --model-options)") { family };
        command.SetAction(parse =>
        {
            var families = ModelRegistry.Families.ToList();
            if (parse.GetValue(family) is { } name)
            {
                if (!ModelRegistry.TryGet(name, out var one))
                {
                    stderr.WriteLine($"mlnetseg families: error: no family '{name}' (known: {string.Join(", ", families.Select(f => f.Name))})");
                    return CliApp.InputError;
                }
                families = new List<ModelFamily> { one };
            }
            var indented = new JsonSerializerOptions { WriteIndented = true };
            foreach (var f in families)
            {
                var defaults = f.CreateDefaultOptions();
                stdout.WriteLine($"{f.Name}: {f.DisplayName} — outputs {f.TasksFor(defaults)}; settings ({f.OptionsType.Name}):");
                stdout.WriteLine(ModelOptionsParser.ToJson(defaults).ToJsonString(indented));
            }
            return 0;
        });
        return command;
    }
}
