using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Tab completion of -Step: the committed steps of the directory given by -Path or -LiteralPath on the
/// same command line, read from the index through the engine.
/// </summary>
public sealed class StepCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        var path = FirstPath(fakeBoundParameters, "LiteralPath") ?? FirstPath(fakeBoundParameters, "Path");
        if (path is null)
        {
            return Array.Empty<CompletionResult>();
        }

        try
        {
            // Completion runs on the session's pipeline thread, so the session's location applies.
            var resolved = ScriptBlock.Create("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])")
                .Invoke(path);
            if (resolved.Count != 1 || resolved[0]?.BaseObject is not string directory)
            {
                return Array.Empty<CompletionResult>();
            }

            return StepsOf(directory)
                .Select(step => step.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Where(text => text.StartsWith(wordToComplete ?? string.Empty, StringComparison.Ordinal))
                .Reverse() // newest first: the step one usually wants
                .Select(text => new CompletionResult(text, text, CompletionResultType.ParameterValue, $"Step {text}"))
                .ToList();
        }
        catch (Exception ex) when (ex is RuntimeException or IOException or UnauthorizedAccessException or CheckpointException or InvalidOperationException)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    private static IReadOnlyList<long> StepsOf(string directory)
    {
        using var handler = new CheckpointHandler();
        return handler.GetCheckpointSteps(directory);
    }

    private static string? FirstPath(IDictionary bound, string name)
    {
        if (!bound.Contains(name))
        {
            return null;
        }

        var value = bound[name] is PSObject pso ? pso.BaseObject : bound[name];
        return value switch
        {
            string s => s,
            IEnumerable e => e.Cast<object?>().Select(o => o?.ToString()).FirstOrDefault(),
            _ => value?.ToString(),
        };
    }
}
