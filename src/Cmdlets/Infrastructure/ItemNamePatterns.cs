using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Item-name wildcards as the engine matches them (docs/format.md §6.3): <c>*</c> and <c>?</c> only, case-sensitive;
/// brackets and backticks are literal, so <c>w[0]</c> names the item w[0], never w0.
/// </summary>
internal sealed class ItemNamePatterns
{
    private readonly List<WildcardPattern> _patterns;

    private ItemNamePatterns(IEnumerable<string> patterns) =>
        _patterns = patterns.Select(p => new WildcardPattern(LiteralBrackets(p), WildcardOptions.CultureInvariant)).ToList();

    /// <summary>The matcher of <paramref name="patterns"/>; null (everything matches) when none are given.</summary>
    public static ItemNamePatterns? From(IEnumerable<string>? patterns) => patterns is null ? null : new ItemNamePatterns(patterns);

    /// <summary>True when <paramref name="name"/> matches one of the patterns.</summary>
    public bool IsMatch(string name) => _patterns.Any(p => p.IsMatch(name));

    private static string LiteralBrackets(string pattern) =>
        pattern.Replace("`", "``", StringComparison.Ordinal).Replace("[", "`[", StringComparison.Ordinal).Replace("]", "`]", StringComparison.Ordinal);
}
