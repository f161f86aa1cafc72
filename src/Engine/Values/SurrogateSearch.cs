using System.Buffers;

namespace DataraxCkpt.Values;

/// <summary>
/// Finds UTF-16 surrogates (and the item-name escape characters) in the strings of a state, once per key and
/// string leaf of a save.
/// </summary>
/// <remarks>
/// These searches run through <see cref="SearchValues{T}"/>, not <c>MemoryExtensions.IndexOfAnyInRange</c>:
/// the framework's precompiled (ReadyToRun) code of that generic method boxed its char bounds, 96 bytes of
/// garbage per call, until tier-1 code replaced it (never, with tiered compilation off). A save of 100,000
/// string-keyed leaves made about 19 MB of such garbage in the first saves of a process (its peak memory:
/// docs/performance-notes.md, round 8). A <see cref="SearchValues{T}"/> search is a virtual call into a
/// vectorized, allocation-free implementation, precompiled or not.
/// </remarks>
internal static class SurrogateSearch
{
    /// <summary>U+D800..U+DFFF: high and low surrogates.</summary>
    private static readonly SearchValues<char> Surrogates = SearchValues.Create(SurrogateRange());

    /// <summary>The surrogates plus '~' and '/', which a name segment escapes.</summary>
    private static readonly SearchValues<char> NameSpecials = SearchValues.Create("~/" + SurrogateRange());

    /// <summary>Index of the first surrogate in <paramref name="text"/>, or -1.</summary>
    public static int IndexOfSurrogate(ReadOnlySpan<char> text) => text.IndexOfAny(Surrogates);

    /// <summary>True when <paramref name="segment"/> holds a '~', a '/' or a surrogate, so its item-name segment is escaped.</summary>
    public static bool NeedsNameEscape(ReadOnlySpan<char> segment) => segment.ContainsAny(NameSpecials);

    private static string SurrogateRange() => string.Create(0xE000 - 0xD800, 0, static (span, _) =>
    {
        for (var i = 0; i < span.Length; i++)
        {
            span[i] = (char)(0xD800 + i);
        }
    });
}
