using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Tab completion of -Step: the committed steps of the directory given by -Path or -LiteralPath on the
/// same command line, read from the index through the engine, newest first.
/// </summary>
public sealed class StepCompleter : IArgumentCompleter
{
    /// <inheritdoc />
    public IEnumerable<CompletionResult> CompleteArgument(string commandName, string parameterName, string wordToComplete,
        CommandAst commandAst, IDictionary fakeBoundParameters)
    {
        try
        {
            if (CompletionDirectory.From(fakeBoundParameters) is not string directory)
            {
                return Array.Empty<CompletionResult>();
            }

            return CompletionDirectory.Read(directory, () => StepsOf(directory))
                .Select(step => step.ToString(System.Globalization.CultureInfo.InvariantCulture))
                .Where(text => text.StartsWith(wordToComplete ?? string.Empty, StringComparison.Ordinal))
                .Reverse()
                .Select(text => new CompletionResult(text, text, CompletionResultType.ParameterValue, $"Step {text}"))
                .ToList();
        }
        catch (Exception ex) when (ex is RuntimeException or IOException or UnauthorizedAccessException or CheckpointException or ArgumentException
            or InvalidOperationException or System.Data.Common.DbException or TimeoutException)
        {
            // Completion must never surface errors; no suggestions is the honest answer.
            return Array.Empty<CompletionResult>();
        }
    }

    private static IReadOnlyList<long> StepsOf(string directory)
    {
        using var handler = new CheckpointHandler();
        return handler.GetCheckpointSteps(directory);
    }
}
