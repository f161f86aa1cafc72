namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// A text percent-decoded to its fixed point: what it reads as after being decoded again and again until decoding changes
/// nothing, however many times it was encoded (<c>sig%25252525253D</c> reads <c>sig=</c>).
/// </summary>
internal static class PercentDecoding
{
    /// <summary>
    /// <paramref name="text"/> with every <c>%</c> and two hex digits replaced by the character they name, also those that
    /// decoding itself makes (<c>%2541</c> → <c>%41</c> → <c>A</c>), in one pass: a stack of the characters decoded so far,
    /// whose top three are decoded again whenever they read <c>%</c> and two hex digits. Each such step shortens the stack
    /// by two, so the time is linear in the text's length at any depth; decoding level by level took one pass per level,
    /// and '%25' followed by 500,000 '25' is 500,000 levels (quadratic time). Only escapes below 0x80 are decoded: the
    /// names looked for are ASCII, and an escape of a byte of a longer UTF-8 character can make no ASCII character.
    /// </summary>
    public static string FixedPoint(string text)
    {
        var first = text.IndexOf('%', StringComparison.Ordinal);
        if (first < 0)
        {
            return text;
        }

        var stack = new char[text.Length];
        text.CopyTo(0, stack, 0, first);
        var top = first;
        for (var i = first; i < text.Length; i++)
        {
            stack[top++] = text[i];
            // A decoded character may complete another escape: '%2' then '5' then '41' is '%41', then 'A'.
            while (top >= 3 && stack[top - 3] == '%' && Hex(stack[top - 2]) is { } high && high < 8 && Hex(stack[top - 1]) is { } low)
            {
                top -= 2;
                stack[top - 1] = (char)((high << 4) | low);
            }
        }

        return new string(stack, 0, top);
    }

    /// <summary>The value of a hex digit, or null.</summary>
    internal static int? Hex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => null,
    };
}
