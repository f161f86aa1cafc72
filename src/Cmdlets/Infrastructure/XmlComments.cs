using System.Collections.Immutable;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// The comments of an XML text (<c>&lt;!--</c> to <c>--&gt;</c>, also XML-escaped <c>&amp;lt;!--</c> to <c>--&amp;gt;</c>
/// or JSON-escaped <c>\u003C!--</c> to <c>--\u003E</c>), found so that their contents can be blanked: an element's text read
/// after a comment is then read whatever the comment holds, a '&lt;' (<c>&lt;AccountKey&gt;&lt;!-- a&lt;b --&gt;KEY</c>) or a
/// line break, at which the pattern of an element's text stops to stay linear (session 19).
/// </summary>
internal static class XmlComments
{
    private static readonly ImmutableArray<(string Open, string Close)> s_forms =
    [
        ("<!--", "-->"),
        ("&lt;!--", "--&gt;"),
        ("\\u003C!--", "--\\u003E"),
        ("\\u003c!--", "--\\u003e"),
    ];

    /// <summary>
    /// Where the comments of <paramref name="text"/> hold their contents (between their marks), in order, none inside
    /// another. Read from left to right as XML reads them: the first opening of any form starts a comment, which ends at the
    /// first closing mark of its form after it (XML comments do not nest), and an opening of another form inside it is its
    /// text ('&lt;!-- a &amp;lt;!-- b --&gt; c --&amp;gt;': read form by form, the two comments overlapped and the copy
    /// between them in XmlShown threw on a negative count, so the original exception escaped with its secret: attack on
    /// session 19). Each form's next opening is looked for again only from past the comment that covered it, and a form with
    /// no closing mark left is looked at no more, so each form's marks are searched for over the text once: linear.
    /// </summary>
    public static List<(int Start, int Length)> Bodies(string text)
    {
        var bodies = new List<(int Start, int Length)>();
        if (!text.Contains("!--", StringComparison.Ordinal))
        {
            return bodies;
        }

        // The next opening of each form at or after 'at' (-1: none left, or no closing mark after it).
        var next = new int[s_forms.Length];
        for (var f = 0; f < s_forms.Length; f++)
        {
            next[f] = text.IndexOf(s_forms[f].Open, StringComparison.Ordinal);
        }

        var at = 0;
        while (true)
        {
            var form = -1;
            for (var f = 0; f < s_forms.Length; f++)
            {
                if (next[f] >= 0 && next[f] < at)
                {
                    next[f] = text.IndexOf(s_forms[f].Open, at, StringComparison.Ordinal);
                }

                if (next[f] >= 0 && (form < 0 || next[f] < next[form]))
                {
                    form = f;
                }
            }

            if (form < 0)
            {
                return bodies;
            }

            var body = next[form] + s_forms[form].Open.Length;
            var closing = text.IndexOf(s_forms[form].Close, body, StringComparison.Ordinal);
            if (closing < 0)
            {
                // No comment of this form ends: its later openings are text.
                next[form] = -1;
                continue;
            }

            bodies.Add((body, closing - body));
            at = closing + s_forms[form].Close.Length;
        }
    }

    /// <summary><paramref name="text"/> with the contents of its comments (<see cref="Bodies"/>) blanked.</summary>
    public static string Blanked(string text, List<(int Start, int Length)> bodies)
    {
        var blanked = text.ToCharArray();
        foreach (var (start, length) in bodies)
        {
            Array.Fill(blanked, ' ', start, length);
        }

        return new string(blanked);
    }
}
