using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using Xunit;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// Attack on debts14: the three scan paths against the byte oracle on long random nodes (several blocks of either size),
/// deep nesting limits crossed at any offset, and every byte value (0x5B/0x7B fold together, 0xDB/0xFB do not).
/// </summary>
public sealed class StateExtentPathAgreementTests
{
    [Fact]
    public void Every_path_the_machine_runs_agrees_with_the_byte_scan_on_long_random_nodes()
    {
        var alphabet = "\"\\[]{}a, \u00e9\u4e2d"u8.ToArray().Concat(new byte[] { 0x5B | 0x80, 0x7B | 0x80, 0x3C, 0x7C, 0x02, 0x22 | 0x80, 0x5C | 0x80 }).ToArray();
        var random = new Random(1414);
        foreach (var scan in Enum.GetValues<StateScan>().Where(StateExtentOracle.Runs))
        {
            for (var n = 0; n < 20000; n++)
            {
                var length = random.Next(1, 200);
                var node = new byte[length];
                node[0] = random.Next(2) == 0 ? (byte)'[' : (byte)'{';
                for (var i = 1; i < length; i++)
                {
                    node[i] = random.Next(3) == 0 ? (byte)random.Next(256) : alphabet[random.Next(alphabet.Length)];
                }

                var maxNesting = random.Next(1, 40);
                Assert.True(StateExtentOracle.ByteScan(node, maxNesting) == StateExtentOracle.BlockScan(node, maxNesting, scan),
                    $"{scan}: {Convert.ToHexString(node)} nesting {maxNesting}");
            }

            for (var pad = 0; pad < 70; pad++)
            {
                for (var depth = 1; depth < 40; depth++)
                {
                    var node = Encoding.UTF8.GetBytes("[" + new string('"', 0) + new string(' ', pad) + new string('[', depth) + new string(']', depth) + "]");
                    Assert.Equal(StateExtentOracle.ByteScan(node, 20), StateExtentOracle.BlockScan(node, 20, scan));
                }
            }
        }
    }
}
