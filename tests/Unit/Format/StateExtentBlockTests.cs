using System.Text;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The state node's end is found 32 bytes at a time (round 41 of docs/performance-notes.md): a mask of the quotes,
/// backslashes and brackets in each block, visited in order. These tests hold it to the byte-at-a-time scan it
/// replaced (kept here as the oracle) where the blocks make a difference: a backslash as a block's last byte (its
/// escaped byte in the next block), brackets and quotes at block edges, a node shorter than a block, the depth
/// limit crossed inside a block, and a node cut off inside a string or between brackets. Each test runs every path
/// (bytes, 16- and 32-byte masks) this machine runs in hardware and reports the others skipped: the production choice
/// runs only one path per machine, so on a machine without Vector256 (ARM64) the tests compared the byte loop with itself.
/// </summary>
public sealed class StateExtentBlockTests
{
    private const int Nesting = StateEncoder.MaxJsonDepth - 1;

    // By name: the path type is internal to the engine, and a theory's parameters are public.
    public static TheoryData<string> Paths => new() { nameof(StateScan.Bytes), nameof(StateScan.Vector128), nameof(StateScan.Vector256) };

    private static StateScan SkipUnlessRuns(string path)
    {
        var scan = Enum.Parse<StateScan>(path);
        Skip.IfNot(StateExtentOracle.Runs(scan), $"{scan} is not hardware accelerated on this machine");
        return scan;
    }

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void A_backslash_at_every_position_of_a_block_skips_the_byte_after_it_as_the_byte_scan_did(string path)
    {
        var scan = SkipUnlessRuns(path);
        // A string whose escaped quote falls on every offset of the first two blocks, the backslash at a block's
        // last byte included: the escaped quote must not end the string, or the ']' inside it would close the node.
        for (var pad = 0; pad < 70; pad++)
        {
            var node = Encoding.UTF8.GetBytes("[\"" + new string('x', pad) + "\\\"]\\\\\",1]" + ",\"after\"]");
            var expected = StateExtentOracle.ByteScan(node, Nesting);
            Assert.Equal(expected, StateExtentOracle.BlockScan(node, Nesting, scan));
            Assert.Equal(pad + 11, int.Parse(expected, System.Globalization.CultureInfo.InvariantCulture));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void Brackets_and_quotes_on_block_edges_end_the_node_where_the_byte_scan_ended_it(string path)
    {
        var scan = SkipUnlessRuns(path);
        for (var pad = 0; pad < 70; pad++)
        {
            foreach (var inner in new[] { "{}", "[[]]", "\"\"", "\"{\"", "{\"a\":[\"]\"]}", "\"\\\\\"" })
            {
                var node = Encoding.UTF8.GetBytes("[" + new string(' ', pad) + inner + "]" + "]]}\"");
                Assert.Equal(StateExtentOracle.ByteScan(node, Nesting), StateExtentOracle.BlockScan(node, Nesting, scan));
            }
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void Random_nodes_of_quotes_backslashes_and_brackets_end_or_fail_as_the_byte_scan_did(string path)
    {
        var scan = SkipUnlessRuns(path);
        // Bytes drawn mostly from the ones the mask picks out, non-ASCII ones included (they are never picked).
        var alphabet = "\"\\[]{}ab,: \u00e9\u4e2d"u8.ToArray();
        var random = new Random(41);
        for (var n = 0; n < 20000; n++)
        {
            var length = random.Next(1, 200);
            var node = new byte[length];
            node[0] = random.Next(2) == 0 ? (byte)'[' : (byte)'{';
            for (var i = 1; i < length; i++)
            {
                node[i] = alphabet[random.Next(alphabet.Length)];
            }

            var maxNesting = random.Next(1, 8);
            Assert.Equal(StateExtentOracle.ByteScan(node, maxNesting), StateExtentOracle.BlockScan(node, maxNesting, scan));
        }
    }

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void The_depth_limit_is_refused_at_the_bracket_that_crosses_it_inside_a_block(string path)
    {
        var scan = SkipUnlessRuns(path);
        var atLimit = Encoding.UTF8.GetBytes(new string('[', Nesting) + new string(']', Nesting));
        Assert.Equal(atLimit.Length, ManifestCodec.StateExtent(atLimit, Nesting, scan));

        var past = Encoding.UTF8.GetBytes(new string('[', Nesting + 1) + new string(']', Nesting + 1));
        var e = Assert.Throws<JsonException>(() => ManifestCodec.StateExtent(past, Nesting, scan));
        Assert.Contains("nests deeper", e.Message, StringComparison.Ordinal);
    }

    [SkippableTheory]
    [MemberData(nameof(Paths))]
    public void A_long_node_cut_off_inside_a_string_or_between_brackets_is_refused_with_the_same_message(string path)
    {
        var scan = SkipUnlessRuns(path);
        var inString = Encoding.UTF8.GetBytes("[\"" + new string('x', 100) + "\\\"");
        Assert.Equal("the state node ends inside a string", Assert.Throws<JsonException>(() => ManifestCodec.StateExtent(inString, Nesting, scan)).Message);

        var open = Encoding.UTF8.GetBytes("[" + string.Concat(Enumerable.Repeat("{\"a\":[1]},", 20)));
        Assert.Equal("the state node ends before its brackets close", Assert.Throws<JsonException>(() => ManifestCodec.StateExtent(open, Nesting, scan)).Message);
    }
}
