using System.Collections;
using System.Collections.ObjectModel;
using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// The checkpoint directory named on a command line being completed (-LiteralPath or -Path), resolved
/// against the session's current location. Completion runs on the session's pipeline thread, so a
/// script block sees the same location the command will.
/// </summary>
internal static class CompletionDirectory
{
    /// <summary>
    /// The full directory path (or remote location), or null when the command line names none, or several (a wildcard
    /// matching more than one), or a path the command would refuse. Resolved by <see cref="CheckpointPathResolver"/>,
    /// exactly as the command resolves it.
    /// </summary>
    public static string? From(IDictionary fakeBoundParameters)
    {
        var literal = First(fakeBoundParameters, "LiteralPath");
        var path = literal ?? First(fakeBoundParameters, "Path");
        if (path is null)
        {
            return null;
        }

        var resolution = literal is null && CheckpointPathResolver.IsPattern(path)
            ? CheckpointPathResolver.Matches(path, ProviderMatches, ProviderPath)
            : CheckpointPathResolver.Named(path, escaped: literal is null, ProviderPath);
        return resolution.Locations.Count == 1 ? resolution.Locations[0] : null;
    }

    // The session's provider through a script block: completion runs on the session's pipeline thread but has no cmdlet.
    private static string ProviderPath(string name, out string providerName)
    {
        // No output at all (no provider name either) is refused by the resolver as no file-system path.
        var paths = Provider("$p = $null; $d = $null; $ExecutionContext.SessionState.Path.GetUnresolvedProviderPathFromPSPath($args[0], [ref]$p, [ref]$d); $p.Name", name, out providerName);
        return paths.Count > 0 ? paths[0] : string.Empty;
    }

    private static Collection<string> ProviderMatches(string pattern, out string providerName) =>
        new(Provider("$p = $null; $ExecutionContext.SessionState.Path.GetResolvedProviderPathFromPSPath($args[0], [ref]$p); $p.Name", pattern, out providerName));

    // The script's output is the path(s), then the provider's name. The provider's exceptions reach the resolver as raised.
    private static List<string> Provider(string script, string path, out string providerName)
    {
        Collection<PSObject> output;
        try
        {
            output = ScriptBlock.Create(script).Invoke(path);
        }
        catch (RuntimeException ex) when (Raised(ex) is { } raised)
        {
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(raised);
            throw;
        }

        var texts = output.Select(o => o?.BaseObject as string ?? string.Empty).ToList();
        if (texts.Count == 0)
        {
            // Nothing came back at all: no provider the resolver would accept.
            providerName = string.Empty;
            return texts;
        }

        providerName = texts[^1];
        texts.RemoveAt(texts.Count - 1);
        return texts;
    }

    // A method called from a script block throws MethodInvocationException around the provider's exception.
    private static Exception? Raised(Exception ex) =>
        ex is MethodInvocationException { InnerException: { } inner } ? inner : ex.InnerException is MethodInvocationException { InnerException: { } nested } ? nested : null;

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
