using System.Buffers.Binary;
using DataraxCkpt.Format;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The plane packing of the <c>planes</c> filter (docs/format.md §2.2) on its own: round trips, the vector and
/// scalar paths giving the same bytes, and hostile content refused as corruption.
/// </summary>
[Collection(PlanePackingSwitch.Name)]
public sealed class PlanePackingTests
{
    public static TheoryData<int, int, bool> Shapes()
    {
        var data = new TheoryData<int, int, bool>();
        foreach (var size in new[] { 2, 4, 8 })
        {
            foreach (var elements in new[] { 256, 257, 1000, 1023, 4097, 65_537 })
            {
                data.Add(size, elements, true);
                data.Add(size, elements, false);
            }
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Shapes))]
    public void Packed_planes_unpack_to_the_same_bytes_on_both_paths(int elementSize, int elements, bool vectors)
    {
        var raw = FewValuedElements(elements, elementSize, extraBytes: 3 % elementSize, seed: elements);
        var shuffled = Shuffled(raw, elementSize);

        var content = PackWith(vectors, shuffled, elementSize);
        var other = PackWith(!vectors, shuffled, elementSize);

        Assert.True(content.Length > 0 && content.Length < shuffled.Length, $"packed {content.Length} of {shuffled.Length}");
        Assert.Equal(content, other);
        Assert.Equal(shuffled, UnpackWith(vectors, content, shuffled.Length, elementSize));
        Assert.Equal(shuffled, UnpackWith(!vectors, content, shuffled.Length, elementSize));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void Escapes_at_vector_edges_and_at_the_last_element_round_trip(bool vectors)
    {
        foreach (var n in new[] { 64, 65, 127, 128, 129, 1000 })
        {
            var plane = new byte[n];
            for (var i = 0; i < n; i++)
            {
                plane[i] = (byte)(i % 15);
            }

            var table = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
            foreach (var at in new[] { 0, 15, 16, 31, 32, 33, 63, 64, n - 2, n - 1 })
            {
                if (at < n)
                {
                    plane[at] = (byte)(200 + (at % 50));
                }
            }

            var (nibbles, escapes) = PackPlaneWith(vectors, plane, table);
            var back = UnpackPlaneWith(vectors, nibbles, table, escapes, n);

            Assert.Equal(plane, back);
            Assert.Contains(plane[n - 1], escapes);
        }
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void A_plane_of_all_256_values_and_a_plane_of_one_value_round_trip(bool vectors)
    {
        var all = Enumerable.Range(0, 1000).Select(i => (byte)(i * 7)).ToArray();
        var table = Enumerable.Range(0, 15).Select(i => (byte)(i * 7)).ToArray();
        var (nibbles, escapes) = PackPlaneWith(vectors, all, table);
        Assert.Equal(all, UnpackPlaneWith(vectors, nibbles, table, escapes, all.Length));
        Assert.Equal(all.Count(b => !table.Contains(b)), escapes.Length);

        var one = Enumerable.Repeat((byte)0x3F, 333).ToArray();
        var oneTable = new byte[15];
        oneTable[0] = 0x3F;
        for (var k = 1; k < 15; k++)
        {
            oneTable[k] = (byte)k;
        }

        (nibbles, escapes) = PackPlaneWith(vectors, one, oneTable);
        Assert.Empty(escapes);
        Assert.Equal(one, UnpackPlaneWith(vectors, nibbles, oneTable, escapes, one.Length));
    }

    [Fact]
    public void Planes_that_do_not_pay_are_not_packed()
    {
        var noise = new byte[64 * 1024];
        new Random(3).NextBytes(noise);
        Assert.Equal(0, PlanePacking.Pack(noise, new byte[noise.Length], 4));

        // Zeros: LZ4 passes such runs at full speed; packing would only cost a pass each way.
        var zeros = new byte[64 * 1024];
        Assert.Equal(0, PlanePacking.Pack(zeros, new byte[zeros.Length], 4));
    }

    [Fact]
    public void A_plane_whose_escapes_the_sample_missed_is_kept_as_it_is()
    {
        // Plane 0 looks packable from its sample (every 16th byte is 0..14), but most bytes are noise.
        const int n = 65_536;
        var shuffled = new byte[2 * n];
        new Random(1).NextBytes(shuffled);
        for (var i = 0; i < n; i += 16)
        {
            shuffled[i] = (byte)(i % 15);
        }

        shuffled[n - 1] = 1;
        for (var i = n; i < 2 * n; i++)
        {
            shuffled[i] = (byte)(i % 3);
        }

        var content = new byte[shuffled.Length];
        var length = PlanePacking.Pack(shuffled, content, 2);

        Assert.True(length > 0);
        Assert.Equal(PlanePacking.ModeRaw, content[0]);
        Assert.Equal(PlanePacking.ModeNibbles, content[1 + n]);
        Assert.Equal(shuffled, Unpack(content.AsSpan(0, length).ToArray(), shuffled.Length, 2));
    }

    [Fact]
    public void Hostile_content_is_refused_as_invalid_data()
    {
        var shuffled = Shuffled(FewValuedElements(1001, 4, extraBytes: 2, seed: 7), 4);
        var content = PackWith(true, shuffled, 4);
        var nibbleAt = FirstPackedPlane(content, 1001);

        Refused(Edit(content, c => c[0] = 7), "unknown mode");
        Refused(Edit(content, c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(nibbleAt + 16), BinaryPrimitives.ReadUInt32LittleEndian(c.AsSpan(nibbleAt + 16)) + 1)), "");
        Refused(Edit(content, c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(nibbleAt + 16), uint.MaxValue)), "escaped bytes");
        Refused(content[..^1], "trailing");
        Refused(content[..10], "truncated");
        Refused(content[..(nibbleAt + 5)], "truncated");
        Refused(content.Concat(new byte[shuffled.Length]).ToArray(), "shorter");

        // An escape count one short of the escape ranks, with the byte it would leave handed to the next plane.
        var escapesAt = PackedPlanes(content, 1001, 4)[^1] + 16;
        var count = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(escapesAt));
        Assert.True(count > 0);
        Refused(Edit(content, c => BinaryPrimitives.WriteUInt32LittleEndian(c.AsSpan(escapesAt), count - 1)), "");
    }

    [Fact]
    public void A_rank_calling_for_an_escape_that_is_not_stored_is_refused_on_both_paths()
    {
        foreach (var vectors in new[] { true, false })
        {
            var table = Enumerable.Range(0, 15).Select(i => (byte)i).ToArray();
            var nibbles = new byte[50]; // 100 elements of rank 0 ...
            nibbles[20] = 0x0F;          // ... but element 40 calls for an escape
            var e1 = Assert.Throws<InvalidDataException>(() => UnpackPlaneWith(vectors, nibbles, table, [], 100));
            Assert.Contains("escaped bytes", e1.Message);

            var e2 = Assert.Throws<InvalidDataException>(() => UnpackPlaneWith(vectors, new byte[50], table, [5], 100));
            Assert.Contains("escaped bytes", e2.Message);

            var odd = new byte[50];
            odd[49] = 0x10; // element 99 of 99 does not exist: its nibble must be 0
            var e3 = Assert.Throws<InvalidDataException>(() => UnpackPlaneWith(vectors, odd, table, [], 99));
            Assert.Contains("unused last nibble", e3.Message);
        }
    }

    private static void Refused(byte[] content, string message)
    {
        var e = Assert.Throws<InvalidDataException>(() => Unpack(content, (4 * 1001) + 2, 4));
        Assert.Contains(message, e.Message);
    }

    /// <summary>Where the first packed plane's mode byte is, walking the planes before it.</summary>
    internal static int FirstPackedPlane(byte[] content, int elements)
    {
        var pos = 0;
        while (content[pos] == PlanePacking.ModeRaw)
        {
            pos += 1 + elements;
        }

        Assert.Equal(PlanePacking.ModeNibbles, content[pos]);
        return pos;
    }

    /// <summary>The mode byte positions of all packed planes.</summary>
    internal static List<int> PackedPlanes(byte[] content, int elements, int elementSize)
    {
        var found = new List<int>();
        var pos = 0;
        for (var j = 0; j < elementSize; j++)
        {
            if (content[pos] == PlanePacking.ModeRaw)
            {
                pos += 1 + elements;
                continue;
            }

            found.Add(pos);
            pos += PlanePacking.NibbleHeaderLength + ((elements + 1) / 2) + (int)BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(pos + 16));
        }

        return found;
    }

    private static byte[] Edit(byte[] content, Action<byte[]> edit)
    {
        var copy = content.ToArray();
        edit(copy);
        return copy;
    }

    /// <summary>Elements whose bytes take few values (a packable plane) but for one random plane, plus trailing bytes.</summary>
    internal static byte[] FewValuedElements(int elements, int elementSize, int extraBytes, int seed)
    {
        var rng = new Random(seed);
        var raw = new byte[(elements * elementSize) + extraBytes];
        for (var i = 0; i < elements; i++)
        {
            for (var j = 0; j < elementSize; j++)
            {
                // Plane 0 random, the last plane 12 values and 2% rarer ones (escapes), the others 3 values.
                raw[(i * elementSize) + j] = j == 0 ? (byte)rng.Next(256)
                    : j == elementSize - 1 ? (byte)(rng.Next(100) < 2 ? 0x80 + rng.Next(50) : 0x30 + rng.Next(12))
                    : (byte)rng.Next(3);
            }
        }

        for (var k = 0; k < extraBytes; k++)
        {
            raw[(elements * elementSize) + k] = (byte)(0xA0 + k);
        }

        return raw;
    }

    internal static byte[] Shuffled(byte[] raw, int elementSize)
    {
        var shuffled = new byte[raw.Length];
        ByteShuffle.ShuffleReference(raw, shuffled, elementSize);
        return shuffled;
    }

    private static byte[] PackWith(bool vectors, byte[] shuffled, int elementSize)
    {
        using var _ = PlanePackingSwitch.Vectors(vectors);
        var content = new byte[shuffled.Length];
        var length = PlanePacking.Pack(shuffled, content, elementSize);
        return content.AsSpan(0, length).ToArray();
    }

    private static byte[] UnpackWith(bool vectors, byte[] content, int length, int elementSize)
    {
        using var _ = PlanePackingSwitch.Vectors(vectors);
        return Unpack(content, length, elementSize);
    }

    private static byte[] Unpack(byte[] content, int length, int elementSize)
    {
        var shuffled = new byte[length];
        PlanePacking.Unpack(content, shuffled, elementSize);
        return shuffled;
    }

    private static (byte[] Nibbles, byte[] Escapes) PackPlaneWith(bool vectors, byte[] plane, byte[] table)
    {
        using var _ = PlanePackingSwitch.Vectors(vectors);
        var nibbles = new byte[(plane.Length + 1) / 2];
        var escapes = new byte[plane.Length];
        var count = PlanePacking.PackPlane(plane, table, nibbles, escapes);
        Assert.True(count >= 0);
        return (nibbles, escapes[..count]);
    }

    private static byte[] UnpackPlaneWith(bool vectors, byte[] nibbles, byte[] table, byte[] escapes, int n)
    {
        using var _ = PlanePackingSwitch.Vectors(vectors);
        var plane = new byte[n];
        PlanePacking.UnpackPlane(nibbles, table, escapes, plane, 0);
        return plane;
    }
}

/// <summary>Tests that flip <see cref="PlanePacking.UseVectors"/> run one at a time.</summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class PlanePackingSwitch
{
    public const string Name = "PlanePacking.UseVectors";

    public static IDisposable Vectors(bool on)
    {
        var before = PlanePacking.UseVectors;
        PlanePacking.UseVectors = on;
        return new Restore(before);
    }

    private sealed class Restore(bool before) : IDisposable
    {
        public void Dispose() => PlanePacking.UseVectors = before;
    }
}
