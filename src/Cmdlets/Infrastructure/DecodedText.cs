namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// A text read at its fixed point of percent-decoding and JSON escapes of ASCII characters (<c>\u002B</c>, <c>\/</c>), with,
/// for each character read, the span of the original text it came from, so that a secret found in what the text reads as
/// can be redacted in the text as it was written. A name whose letters are encoded with their own hex digits encoded
/// (<c>sig%25%33%44</c>: '%3D', then '=') or a key whose characters are escaped (<c>%2B</c>, <c>\u002B</c>, <c>%3D%3D</c>)
/// reads as the name or key: the patterns of <see cref="RemoteLocations"/> that match only '%' and a run of '25' missed
/// them (session 19).
/// </summary>
internal sealed class DecodedText
{
    private readonly int[] _start;
    private readonly int[] _end;

    private DecodedText(string text, int[] start, int[] end)
    {
        Text = text;
        _start = start;
        _end = end;
    }

    /// <summary>What the text reads as.</summary>
    public string Text { get; }

    /// <summary>
    /// The text read as <see cref="Text"/>, or null when it holds no escape to decode. One pass over a stack of the
    /// characters read so far: whenever its top reads as an escape of an ASCII character
    /// it is replaced by that character, which spans the original characters of the escape. Each such step shortens the
    /// stack, so the time is linear in the text's length at any depth of encoding.
    /// </summary>
    public static DecodedText? Of(string text)
    {
        if (!text.Contains('%', StringComparison.Ordinal) && !text.Contains('\\', StringComparison.Ordinal))
        {
            return null;
        }

        var chars = new char[text.Length];
        var start = new int[text.Length];
        var end = new int[text.Length];
        var top = 0;
        var changed = false;
        for (var i = 0; i < text.Length; i++)
        {
            chars[top] = text[i];
            start[top] = i;
            end[top] = i + 1;
            top++;
            while (Escape(chars, top) is { } escape)
            {
                var first = top - escape.Length;
                chars[first] = escape.Value;
                end[first] = end[top - 1];
                top = first + 1;
                changed = true;
            }
        }

        return changed ? new DecodedText(new string(chars, 0, top), start, end) : null;
    }

    /// <summary>Where in the original text the read characters from <paramref name="index"/> on, <paramref name="length"/> of them, were written.</summary>
    public (int Start, int Length) Original(int index, int length) =>
        (_start[index], _end[index + length - 1] - _start[index]);

    // The escape the top of the stack ends with: '%' and two hex digits, '\u00' and two, or '\/'; only ASCII characters (the
    // names and keys looked for are ASCII; an escape of one byte of a longer UTF-8 character makes no ASCII character).
    private static (char Value, int Length)? Escape(char[] chars, int top)
    {
        if (top >= 3 && chars[top - 3] == '%' && Hex(chars[top - 2]) is { } high && high < 8 && Hex(chars[top - 1]) is { } low)
        {
            return ((char)((high << 4) | low), 3);
        }

        if (top >= 6 && chars[top - 6] == '\\' && chars[top - 5] is 'u' or 'U' && chars[top - 4] == '0' && chars[top - 3] == '0'
            && Hex(chars[top - 2]) is { } h && h < 8 && Hex(chars[top - 1]) is { } l)
        {
            return ((char)((h << 4) | l), 6);
        }

        return top >= 2 && chars[top - 2] == '\\' && chars[top - 1] == '/' ? ('/', 2) : null;
    }

    /// <summary>The value of a hex digit, or null.</summary>
    private static int? Hex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => null,
    };
}
