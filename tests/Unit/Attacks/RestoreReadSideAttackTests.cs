using System.Globalization;
using System.Text;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// The attack on the restore's read side of round 41 (the state node's end found 32 bytes at a time, float bits
/// parsed from the manifest's bytes): both held against the code they replaced. Float bits of random text (hex
/// digits of both cases, signs, '0x', spaces, NUL, non-ASCII digits, each character sometimes escaped) decode, by
/// bytes and by document, to the bits or the exception (type and message) of the old text parse; the block scan
/// ends or refuses random dense nodes (high bytes, UTF-8 sequences, bytes one bit from a bracket) and runs of
/// backslashes at every offset of the first blocks, cut off at every length, as the byte scan did. Run with
/// DOTNET_EnableHWIntrinsic=0 these hold the per-byte path too.
/// </summary>
public sealed class RestoreReadSideAttackTests
{
    private static string Outcome(Func<object?> f)
    {
        try
        {
            var v = f();
            return v switch
            {
                Half h => "h" + BitConverter.HalfToUInt16Bits(h).ToString("X", CultureInfo.InvariantCulture),
                float s => "s" + BitConverter.SingleToUInt32Bits(s).ToString("X", CultureInfo.InvariantCulture),
                double d => "d" + BitConverter.DoubleToUInt64Bits(d).ToString("X", CultureInfo.InvariantCulture),
                ushort u => "h" + u.ToString("X", CultureInfo.InvariantCulture),
                uint u => "s" + u.ToString("X", CultureInfo.InvariantCulture),
                ulong u => "d" + u.ToString("X", CultureInfo.InvariantCulture),
                _ => "?" + v,
            };
        }
        catch (Exception e)
        {
            return e.GetType().Name + ": " + e.Message;
        }
    }

    [Fact]
    public void Float_hex_fuzz_matches_old_text_path()
    {
        var alphabet = "0123456789abcdefABCDEFxX+- \u00e9\u0660\uff11gG.,_\u00a0\u0000\t".ToCharArray();
        var random = new Random(13);
        var mismatches = new List<string>();
        for (var n = 0; n < 15000; n++)
        {
            var len = random.Next(0, 40);
            var chars = new char[len];
            for (var i = 0; i < len; i++)
            {
                chars[i] = random.Next(4) == 0 ? alphabet[random.Next(alphabet.Length)] : "0123456789abcdefABCDEF"[random.Next(22)];
            }

            var hex = new string(chars);
            var sb = new StringBuilder();
            foreach (var c in hex)
            {
                if (c < 0x20 || c == '"' || c == '\\' || random.Next(20) == 0)
                {
                    sb.Append("\\u").Append(((int)c).ToString(random.Next(2) == 0 ? "x4" : "X4", CultureInfo.InvariantCulture));
                }
                else
                {
                    sb.Append(c);
                }
            }

            foreach (var code in new[] { "f16", "f32", "f64" })
            {
                var json = $$"""{"t":"{{code}}","b":"{{sb}}"}""";
                using var doc = JsonDocument.Parse(json);
                var text = doc.RootElement.GetProperty("b").GetString()!;
                var expected = Outcome(() => code switch
                {
                    "f16" => ushort.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                    "f32" => uint.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                    _ => (object)ulong.Parse(text, NumberStyles.AllowHexSpecifier, CultureInfo.InvariantCulture),
                });
                var dec = new StateDecoder((_, _, _) => throw new InvalidOperationException());
                var actualDoc = Outcome(() => dec.Decode(doc.RootElement));
                var actualBytes = Outcome(() => new StateDecoder((_, _, _) => throw new InvalidOperationException()).Decode(new ReadOnlyMemory<byte>(Encoding.UTF8.GetBytes(json))));
                if (expected != actualDoc || expected != actualBytes)
                {
                    mismatches.Add($"{json}: old {expected} / doc {actualDoc} / bytes {actualBytes}");
                }
            }
        }

        Assert.True(mismatches.Count == 0, string.Join("\n", mismatches.Take(20)));
    }

    [Fact]
    public void Extent_fuzz_dense_and_long()
    {
        var random = new Random(1313);
        byte[][] alphabets =
        [
            "\"\\[]{}"u8.ToArray(),
            "\"\\\\\\[x"u8.ToArray(),
            "\"\\[]{}ab \u00e9\u4e2d\ud83d\ude00"u8.ToArray(),
            [0x22, 0x5C, 0x5B, 0x5D, 0x7B, 0x7D, 0x7F, 0x80, 0xFF, 0xDB, 0xDD, 0xFB, 0xFD, 0x02, 0x3B, 0x1B, 0x00],
        ];
        for (var n = 0; n < 30000; n++)
        {
            var alphabet = alphabets[n % alphabets.Length];
            var length = random.Next(1, 300);
            var node = new byte[length];
            node[0] = random.Next(2) == 0 ? (byte)'[' : (byte)'{';
            for (var i = 1; i < length; i++)
            {
                node[i] = alphabet[random.Next(alphabet.Length)];
            }

            var maxNesting = random.Next(1, 70);
            var o = StateExtentOracle.ByteScan(node, maxNesting);
            var s = StateExtentOracle.BlockScan(node, maxNesting);
            if (o != s)
            {
                Assert.Fail($"{Convert.ToHexString(node)} nesting {maxNesting}: oracle {o} scan {s}");
            }
        }
    }

    [Fact]
    public void Extent_backslash_runs_at_every_offset()
    {
        for (var pad = 0; pad < 100; pad++)
        {
            for (var run = 1; run <= 9; run++)
            {
                foreach (var after in new[] { "\"]", "]\"]", "x\"]", "\u00e9\"]" })
                {
                    var node = Encoding.UTF8.GetBytes("[\"" + new string('a', pad) + new string('\\', run) + after + "\"]]");
                    Assert.Equal(StateExtentOracle.ByteScan(node, 5), StateExtentOracle.BlockScan(node, 5));
                    for (var cutAt = 1; cutAt < node.Length; cutAt++)
                    {
                        var cut = node.AsSpan(0, cutAt).ToArray();
                        Assert.Equal(StateExtentOracle.ByteScan(cut, 5), StateExtentOracle.BlockScan(cut, 5));
                    }
                }
            }
        }
    }
}
