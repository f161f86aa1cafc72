using System.Text;
using DataraxCkpt.Storage;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// The one parser of a stored save id (<see cref="RemovedRow.TryParseSaveId{T}"/>), over text and over the UTF-8
/// bytes the index returns: exactly 32 digits of 0-9a-f, the same answer for both inputs, and a refusal that names
/// the step and the value. It was two copies of the same loop (one per input type) before session 11.
/// </summary>
public sealed class SaveIdParserTests
{
    private static (bool Ok, UInt128 Value) FromChars(string text) => (RemovedRow.TryParseSaveId(text.AsSpan(), out var v), v);

    private static (bool Ok, UInt128 Value) FromBytes(string text) => (RemovedRow.TryParseSaveId(Encoding.UTF8.GetBytes(text).AsSpan(), out var v), v);

    [Theory]
    [InlineData("00000000000000000000000000000000")]
    [InlineData("0123456789abcdef0123456789abcdef")]
    [InlineData("ffffffffffffffffffffffffffffffff")]
    [InlineData("9a00000000000000000000000000000f")]
    public void Thirty_two_lower_case_hex_digits_read_as_their_value_from_text_and_from_bytes_alike(string text)
    {
        var expected = UInt128.Parse(text, System.Globalization.NumberStyles.HexNumber, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal((true, expected), FromChars(text));
        Assert.Equal((true, expected), FromBytes(text));
        Assert.Equal(expected, RemovedRow.ParseSaveId(3, text.AsSpan()));
        Assert.Equal(text, new RemovedRow(3, expected, default, 0, 0, 0, "{}", false).SaveId);
    }

    [Theory]
    [InlineData("")]
    [InlineData("0")]
    [InlineData("0000000000000000000000000000000")]                 // 31 digits
    [InlineData("000000000000000000000000000000000")]               // 33 digits
    [InlineData("0000000000000000000000000000000A")]                // upper case
    [InlineData("F0000000000000000000000000000000")]
    [InlineData("0000000000000000000000000000000g")]                // just past 'f'
    [InlineData("000000000000000000000000000000/0")]                // just before '0'
    [InlineData("000000000000000000000000000000:0")]                // just after '9'
    [InlineData("000000000000000000000000000000`0")]                // just before 'a'
    [InlineData("000000000000000000000000000000-f")]
    [InlineData(" 0000000000000000000000000000000")]
    [InlineData("0000000000000000000000000000000\u00e9")]           // 32 chars, 33 UTF-8 bytes
    [InlineData("000000000000000000000000000000\u0660\u0661")]      // Arabic-Indic digits: digits, not hex digits
    public void Anything_but_thirty_two_lower_case_hex_digits_is_refused_from_text_and_from_bytes(string text)
    {
        Assert.False(FromChars(text).Ok);
        Assert.False(FromBytes(text).Ok);
        var e = Assert.Throws<FormatException>(() => RemovedRow.ParseSaveId(77, text.AsSpan()));
        Assert.Equal($"step 77 has a save id that is not 32 lower-case hex digits: '{text}'", e.Message);
    }

    [Fact]
    public void A_char_whose_low_byte_is_a_hex_digit_is_refused()
    {
        // U+0161 and U+0130 end in the bytes of 'a' and '0': read as a code unit, not truncated to a byte.
        Assert.False(FromChars("0000000000000000000000000000000\u0161").Ok);
        Assert.False(FromChars("\u01300000000000000000000000000000000"[..32]).Ok);
    }

    [Fact]
    public void A_refusal_of_index_bytes_names_the_step_and_shows_the_value_as_text_cut_after_64_characters()
    {
        var e = Assert.Throws<FormatException>(() => RemovedRow.ParseSaveId(12, "0000000000000000000000000000018F"u8));
        Assert.Equal("step 12 has a save id that is not 32 lower-case hex digits: '0000000000000000000000000000018F'", e.Message);

        var longValue = new string('x', 100);
        var cut = Assert.Throws<FormatException>(() => RemovedRow.ParseSaveId(5, Encoding.UTF8.GetBytes(longValue).AsSpan()));
        Assert.Equal($"step 5 has a save id that is not 32 lower-case hex digits: '{new string('x', 64)}...'", cut.Message);
    }
}
