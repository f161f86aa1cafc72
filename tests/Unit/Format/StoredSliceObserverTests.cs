using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// <see cref="StepReader.ReadStoredGroup"/> hands an observer each stored chunk's bytes a slice at a time as
/// it hashes them (statistics run their kernel there, while the bytes are in cache). These pin the contract
/// the observer relies on: every byte of every chunk once, in order, in slices of the length asked for
/// (a chunk's last one shorter); the checksums still checked, so a damaged chunk throws after its slices
/// were seen; a slice length that would split a hash stripe refused.
/// </summary>
public sealed class StoredSliceObserverTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public StoredSliceObserverTests() => _ck = _dir.Sub("ck");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private sealed class Recorder(int sliceLength) : IStoredSliceObserver
    {
        public int SliceLength => sliceLength;

        public List<(int Chunk, int Offset, byte[] Bytes)> Seen { get; } = [];

        public void Observe(int chunk, int offset, ReadOnlySpan<byte> slice) => Seen.Add((chunk, offset, slice.ToArray()));
    }

    private void SaveRandomBytes(params int[] lengths)
    {
        var random = new Random(5);
        var state = new Dictionary<string, object?>();
        for (var i = 0; i < lengths.Length; i++)
        {
            var bytes = new byte[lengths[i]];
            random.NextBytes(bytes);
            state[$"t{i}"] = bytes;
        }

        _handler.Save(_ck, state, step: 1);
    }

    private StepReader OpenStep() => StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, "1"), 1, expectedManifestHash: null);

    /// <summary>Reads the first chunk of each tensor as one group, observed by <paramref name="observer"/>; returns what each decodes to alone.</summary>
    private static byte[][] ReadGroup(StepReader reader, IStoredSliceObserver observer)
    {
        var count = reader.Manifest.Tensors.Count;
        var targets = new byte[count][];
        var expected = new byte[count][];
        var group = default(StoredChunkGroup);
        for (var t = 0; t < count; t++)
        {
            var chunk = reader.Manifest.Tensors[t].Chunks[0];
            Assert.True(StepReader.IsStoredCandidate(chunk, 0));
            targets[t] = new byte[chunk.RawLength];
            expected[t] = new byte[chunk.RawLength];
            reader.DecodeChunkInto(t, 0, expected[t]);
            group.Add(reader, chunk, targets[t], $"t{t}");
        }

        StepReader.ReadStoredGroup(ref group, observer);
        return expected;
    }

    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(4096)]
    [InlineData(48)]
    public void Every_byte_of_every_chunk_is_observed_once_in_order_in_slices_of_the_length_asked(int sliceLength)
    {
        // Lengths of no common multiple with the slice (one not a whole number of hash stripes).
        SaveRandomBytes(300_000, 70_001, 131_072, 1000);
        using var reader = OpenStep();
        var recorder = new Recorder(sliceLength);

        var expected = ReadGroup(reader, recorder);

        for (var chunk = 0; chunk < expected.Length; chunk++)
        {
            var slices = recorder.Seen.Where(s => s.Chunk == chunk).ToList();
            Assert.Equal(Enumerable.Range(0, slices.Count).Select(i => i * sliceLength), slices.Select(s => s.Offset));
            Assert.All(slices.SkipLast(1), s => Assert.Equal(sliceLength, s.Bytes.Length));
            Assert.Equal(expected[chunk], slices.SelectMany(s => s.Bytes).ToArray());
        }
    }

    [Fact]
    public void A_damaged_chunk_still_fails_its_checksum_after_its_slices_were_observed()
    {
        SaveRandomBytes(200_000, 200_000);
        long at;
        using (var reader = OpenStep())
        {
            at = reader.Manifest.Tensors[1].Chunks[0].Offset + Lz4Frame.StoredPrefixLength + 150_000;
        }

        using (var file = File.Open(Path.Combine(_ck, "1", StepFormat.DataFile), FileMode.Open))
        {
            file.Position = at;
            var old = file.ReadByte();
            file.Position = at;
            file.WriteByte((byte)(old ^ 0x01));
        }

        using (var reader = OpenStep())
        {
            var recorder = new Recorder(64 * 1024);
            var targets = new[] { new byte[200_000], new byte[200_000] };
            var e = Assert.Throws<InvalidDataException>(() =>
            {
                var group = default(StoredChunkGroup);
                group.Add(reader, reader.Manifest.Tensors[0].Chunks[0], targets[0], "t0");
                group.Add(reader, reader.Manifest.Tensors[1].Chunks[0], targets[1], "t1");
                StepReader.ReadStoredGroup(ref group, recorder);
            });
            Assert.Contains("item 't1'", e.Message, StringComparison.Ordinal);
            Assert.Contains("checksum", e.Message, StringComparison.OrdinalIgnoreCase);
            Assert.Contains(recorder.Seen, s => s.Chunk == 1 && s.Offset <= 150_000 && s.Offset + s.Bytes.Length > 150_000);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(20)]
    public void A_slice_length_that_is_not_a_positive_multiple_of_16_is_refused(int sliceLength)
    {
        SaveRandomBytes(1000);
        using var reader = OpenStep();
        var e = Assert.Throws<ArgumentException>(() => ReadGroup(reader, new Recorder(sliceLength)));
        Assert.Equal("observer", e.ParamName);
    }
}
