using System.Management.Automation;
using System.Reflection;

namespace DataraxCkpt.Commands.Errors;

/// <summary>
/// The variables a nearer one of the same name hides from a cmdlet: the Variable provider lists the nearest of each name
/// only, but PowerShell fills an <c>-ErrorVariable</c> in the scope its command names (<c>-ErrorVariable script:ev</c>) and
/// the error variables of the commands the failing one runs in (a caller's <c>Run -ErrorVariable ev</c>, where Run has a
/// local <c>$ev</c>): the list it filled with a record quoting a secret is then out of the provider's sight (session 19).
/// </summary>
internal static class HiddenVariables
{
    // Internal to PowerShell (Get-Variable -Scope reads it): no public API reads a variable of a given scope without running
    // a command, whose failures would go to $Error. Looked up once; a PowerShell without it finds the visible lists only.
    private static readonly MethodInfo? s_getAtScope = typeof(PSVariableIntrinsics).GetMethod(
        "GetAtScope", BindingFlags.Instance | BindingFlags.NonPublic, null, [typeof(string), typeof(string)], null);

    // Far beyond any script's nesting; the walk stops at the first scope number PowerShell refuses.
    private const int MaxScopes = 1000;

    /// <summary>
    /// The variables named <paramref name="names"/> in every scope from the caller's parent up to the global one (the nearest
    /// of each name is the visible one, listed already).
    /// </summary>
    public static IEnumerable<PSVariable> Named(SessionState sessionState, IReadOnlyCollection<string> names)
    {
        if (s_getAtScope is null || names.Count == 0)
        {
            yield break;
        }

        for (var scope = 1; scope < MaxScopes; scope++)
        {
            var scopeName = scope.ToString(System.Globalization.CultureInfo.InvariantCulture);
            foreach (var name in names)
            {
                object? found;
                try
                {
                    found = s_getAtScope.Invoke(sessionState.PSVariable, [name, scopeName]);
                }
                catch (TargetInvocationException e)
                {
                    if (e.InnerException is ArgumentOutOfRangeException)
                    {
                        // Past the global scope (PSArgumentOutOfRangeException): every scope has been read.
                        yield break;
                    }

                    // A name this scope cannot read is skipped, as the provider's listing would skip it.
                    continue;
                }

                if (found is PSVariable variable)
                {
                    yield return variable;
                }
            }
        }
    }
}
