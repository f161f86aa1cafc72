using System.Collections;
using System.Management.Automation;
using System.Management.Automation.Language;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Tab completion of -Item and -Name: the leaf names of the step given by -Step (the latest when absent)
/// of the directory on the same command line, read from the index without decompressing anything.
/// </summary>
public sealed class ItemNameCompleter : IArgumentCompleter
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

            var typed = (wordToComplete ?? string.Empty).Trim('\'', '"');
            var step = CompletionDirectory.Step(fakeBoundParameters);
            return CompletionDirectory.Read(directory, () => NamesOf(directory, step))
                .Where(name => name.StartsWith(typed, StringComparison.Ordinal))
                .Select(name => new CompletionResult(Quote(name), name, CompletionResultType.ParameterValue, name))
                .ToList();
        }
        catch (Exception ex) when (ex is RuntimeException or IOException or UnauthorizedAccessException or CheckpointException or ArgumentException
            or InvalidOperationException or System.Data.Common.DbException or TimeoutException)
        {
            return Array.Empty<CompletionResult>();
        }
    }

    private static IReadOnlyList<string> NamesOf(string directory, long? step)
    {
        using var handler = new CheckpointHandler();
        var chosen = step ?? handler.LatestStep(directory);
        return chosen is long s ? handler.GetItems(directory, s).Select(i => i.Name).ToList() : Array.Empty<string>();
    }

    // Item names hold '/', and may hold spaces or wildcard characters; quoted, they paste back literally.
    private static string Quote(string name) => "'" + name.Replace("'", "''", StringComparison.Ordinal) + "'";
}
