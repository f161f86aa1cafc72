using System.Collections;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// The checkpoint directory named on a command line being completed (-LiteralPath or -Path), resolved
/// against the session's current location. Completion runs on the session's pipeline thread, so a
/// script block sees the same location the command will.
/// </summary>
internal static class CompletionDirectory
{
    /// <summary>The full directory path, or null when the command line names none (or several).</summary>
    public static string? From(IDictionary fakeBoundParameters)
    {
        var literal = First(fakeBoundParameters, "LiteralPath");
        var path = literal ?? First(fakeBoundParameters, "Path");
        if (path is null)
        {
            return null;
        }

        if (literal is null && !CheckpointLocation.IsRemote(path) && path.Contains('`', StringComparison.Ordinal) && !WildcardPattern.ContainsWildcardCharacters(path))
        {
            // As the command takes it: a -Path's backticks escape ('run`[1`]' is run[1]).
            path = WildcardPattern.Unescape(path);
        }

        if (CheckpointLocation.IsRemote(path))
        {
            // Taken as typed, as the command will take it; the provider knows no 'az:' drive.
            return path;
        }

        if (CheckpointCommandBase.IsUncOutsideWindows(path))
        {
            // As the command refuses it (UncPathNotSupported): //server/share is a full path to .NET on Linux, /server/share.
            return null;
        }

        var resolved = ScriptBlock.Create("$ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0])").Invoke(path);
        // Only a full path, as the command itself requires: the provider leaves \\server\share unqualified outside
        // Windows, and the engine would read (or rebuild the index of) a folder of that name in the process's directory.
        return resolved.Count == 1 && resolved[0]?.BaseObject is string directory && System.IO.Path.IsPathFullyQualified(directory) ? directory : null;
    }

    /// <summary>How long completion waits for a remote store before offering nothing.</summary>
    public static readonly TimeSpan RemoteBudget = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Runs <paramref name="read"/> for completion. A local read runs as is; a remote one (which may list the
    /// store or retry an unreachable endpoint) gets <see cref="RemoteBudget"/>, after which completion offers
    /// nothing rather than freeze the prompt. Its failures read as "no suggestions" as well.
    /// </summary>
    public static IReadOnlyList<T> Read<T>(string directory, Func<IReadOnlyList<T>> read)
    {
        if (!CheckpointLocation.IsRemote(directory))
        {
            return read();
        }

        var task = Task.Run(read);
        try
        {
            return task.Wait(RemoteBudget) ? task.Result : Array.Empty<T>();
        }
        catch (AggregateException)
        {
            return Array.Empty<T>();
        }
    }

    /// <summary>The -Step (Compare-Checkpoint: -DifferenceStep) on the command line, when there is exactly one.</summary>
    public static long? Step(IDictionary fakeBoundParameters)
    {
        var name = fakeBoundParameters.Contains("Step") ? "Step" : "DifferenceStep";
        if (!fakeBoundParameters.Contains(name))
        {
            return null;
        }

        var value = fakeBoundParameters[name] is PSObject pso ? pso.BaseObject : fakeBoundParameters[name];
        return LanguagePrimitives.TryConvertTo<long>(value, System.Globalization.CultureInfo.InvariantCulture, out var step) ? step : null;
    }

    private static string? First(IDictionary bound, string name)
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
