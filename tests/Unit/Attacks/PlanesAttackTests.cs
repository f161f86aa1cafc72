using DataraxCkpt.Format;
using DataraxCkpt.Tests.Format;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>Attack on the planes filter: packing must not depend on the CPU, and hostile content must fail as invalid data.</summary>
[Collection(PlanePackingSwitch.Name)]
public sealed class PlanesAttackTests
{
    private static byte[] Plane(Random rng, int n, int mode)
    {
        var p = new byte[n];
        switch (mode)
        {
            case 0: // exactly 15/16/17 distinct values
            case 1:
            case 2:
                for (var i = 0; i < n; i++) p[i] = (byte)(0x40 + rng.Next(15 + mode));
                break;
            case 3: // few values in the sample region, heavy escapes later
                for (var i = 0; i < n; i++) p[i] = i < n / 3 ? (byte)(0x3F + rng.Next(3)) : (byte)rng.Next(256);
                break;
            case 4: // few values, escapes at every vector edge and the last byte
                for (var i = 0; i < n; i++) p[i] = (byte)(0x3C + rng.Next(4));
                for (var i = 0; i < n; i++) if (i % 16 == 0 || i % 16 == 15 || i == n - 1) p[i] = (byte)(0x80 + (i & 0x7F));
                break;
            case 5: // escapes the sample misses exactly at the stride points' neighbours
                for (var i = 0; i < n; i++) p[i] = (byte)(0x3F + (i % 5 == 0 ? 0 : 1));
                for (var i = 1; i < n; i += 2) p[i] = (byte)(0x90 + (i & 0x3F));
                p[^1] = 0x3F;
                break;
            case 6: // one value, the 15 slots mostly unused
                Array.Fill(p, (byte)0x3F);
                for (var i = 0; i < n; i += 97) p[i] = 0x40;
                break;
            default:
                rng.NextBytes(p);
                break;
        }

        return p;
    }

    [Fact]
    public void Pack_output_is_the_same_on_scalar_and_vector_paths_and_round_trips()
    {
        var rng = new Random(1234);
        var lengths = new List<int> { 256, 257, 263, 287, 288, 289, 319, 320, 321, 511, 512, 513, 4095, 4096, 4097, 8191, 8193, 12_289 };
        for (var k = 0; k < 40; k++) lengths.Add(256 + rng.Next(20_000));
        foreach (var s in new[] { 2, 4, 8 })
        foreach (var n in lengths)
        for (var trial = 0; trial < 3; trial++)
        {
            var t = rng.Next(s);
            var shuffled = new byte[(n * s) + t];
            for (var j = 0; j < s; j++) Plane(rng, n, rng.Next(8)).CopyTo(shuffled, j * n);
            for (var i = n * s; i < shuffled.Length; i++) shuffled[i] = (byte)rng.Next(256);

            var a = new byte[shuffled.Length];
            var b = new byte[shuffled.Length];
            int la, lb;
            using (PlanePackingSwitch.Vectors(true)) la = PlanePacking.Pack(shuffled, a, s);
            using (PlanePackingSwitch.Vectors(false)) lb = PlanePacking.Pack(shuffled, b, s);
            Assert.Equal(la, lb);
            Assert.True(la < shuffled.Length);
            Assert.Equal(a.AsSpan(0, la).ToArray(), b.AsSpan(0, lb).ToArray());
            if (la == 0) continue;
            foreach (var v in new[] { true, false })
            {
                var back = new byte[shuffled.Length];
                using (PlanePackingSwitch.Vectors(v)) PlanePacking.Unpack(a.AsSpan(0, la), back, s);
                Assert.True(shuffled.AsSpan().SequenceEqual(back), $"s={s} n={n} t={t} vectors={v}");
            }
        }
    }

    [Fact]
    public void Mutated_packed_content_is_refused_as_invalid_data_or_decodes_the_same_on_both_paths()
    {
        var rng = new Random(99);
        foreach (var s in new[] { 2, 4, 8 })
        for (var trial = 0; trial < 60; trial++)
        {
            var n = 256 + rng.Next(3000);
            var t = rng.Next(s);
            var shuffled = new byte[(n * s) + t];
            for (var j = 0; j < s; j++) Plane(rng, n, rng.Next(2) == 0 ? 4 : 0).CopyTo(shuffled, j * n);
            var content = new byte[shuffled.Length];
            var length = PlanePacking.Pack(shuffled, content, s);
            if (length == 0) continue;
            for (var m = 0; m < 30; m++)
            {
                var bad = content.AsSpan(0, length).ToArray();
                var cut = rng.Next(4) == 0 ? rng.Next(bad.Length) : bad.Length;
                for (var x = 0; x < 1 + rng.Next(3); x++) bad[rng.Next(bad.Length)] = (byte)rng.Next(256);
                bad = bad[..cut];
                string? r1 = null, r2 = null;
                foreach (var v in new[] { true, false })
                {
                    var back = new byte[shuffled.Length];
                    string r;
                    try
                    {
                        using (PlanePackingSwitch.Vectors(v)) PlanePacking.Unpack(bad, back, s);
                        r = Convert.ToHexString(back);
                    }
                    catch (InvalidDataException)
                    {
                        r = "invalid";
                    }

                    if (v) r1 = r; else r2 = r;
                }

                Assert.Equal(r1, r2);
            }
        }
    }
}
