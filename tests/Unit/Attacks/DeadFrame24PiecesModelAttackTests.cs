using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Attack deadframe24: <see cref="Lz4Pieces"/> driven by random Take, Reserve (with slack writes), Write (small and
/// past a piece), Flush, RewindTo (into the buffer, into a piece, onto piece edges) and Patch (anywhere written,
/// across pieces) against a plain list of the bytes: the frame it copies out, its length and hash are the list's.
/// </summary>
public sealed class DeadFrame24PiecesModelAttackTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    [InlineData(4)]
    public void Random_takes_writes_rewinds_and_patches_copy_out_the_bytes_a_plain_list_holds(int seed)
    {
        var rng = new Random(seed);
        for (var round = 0; round < 40; round++)
        {
            using var pieces = new Lz4Pieces();
            var model = new List<byte>();
            for (var op = 0; op < 200; op++)
            {
                switch (rng.Next(7))
                {
                    case 0:
                    {
                        var span = pieces.Take(rng.Next(0, 40));
                        rng.NextBytes(span);
                        model.AddRange(span.ToArray());
                        break;
                    }

                    case 1:
                    {
                        var length = rng.Next(0, 3000);
                        var at = pieces.Reserve(length);
                        var bytes = new byte[length + Lz4Pieces.Slack];
                        rng.NextBytes(bytes);
                        // The caller may write up to Slack bytes past what it reserved.
                        bytes.CopyTo(pieces.Pinnable.AsSpan(at, Math.Min(bytes.Length, pieces.Pinnable.Length - at)));
                        model.AddRange(bytes.AsSpan(0, length).ToArray());
                        break;
                    }

                    case 2:
                    {
                        var bytes = new byte[rng.Next(4) == 0 ? rng.Next(60_000, 300_000) : rng.Next(0, 5000)];
                        rng.NextBytes(bytes);
                        pieces.Write(bytes);
                        model.AddRange(bytes);
                        break;
                    }

                    case 3:
                        pieces.Flush();
                        break;

                    case 4:
                    {
                        var to = model.Count == 0 ? 0 : rng.Next(0, model.Count + 1);
                        pieces.RewindTo(to);
                        model.RemoveRange(to, model.Count - to);
                        break;
                    }

                    default:
                    {
                        if (model.Count == 0)
                        {
                            break;
                        }

                        var length = Math.Min(model.Count, rng.Next(1, 9));
                        var at = rng.Next(0, model.Count - length + 1);
                        var bytes = new byte[length];
                        rng.NextBytes(bytes);
                        pieces.Patch(at, bytes);
                        for (var i = 0; i < length; i++)
                        {
                            model[at + i] = bytes[i];
                        }

                        break;
                    }
                }

                Assert.Equal(model.Count, pieces.Position);
            }

            using var output = new MemoryStream();
            var (written, hash) = pieces.CopyTo(output);
            var expected = model.ToArray();
            Assert.Equal(expected.Length, written);
            Assert.True(expected.AsSpan().SequenceEqual(output.ToArray()), $"seed {seed} round {round}: the pieces hold other bytes");
            Assert.Equal(K4os.Hash.xxHash.XXH64.DigestOf(expected), hash);
        }
    }
}
