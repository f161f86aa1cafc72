using DataraxCkpt.Format;
using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// The attack on AppendFour continuing side by side with uneven lanes, end to end: a step whose stored
/// chunks are of uneven lengths (tensor sizes not multiples of the chunk, last chunks short, tiny tensors
/// between large ones) is read in groups of up to four; it restores bit-exactly, and one flipped bit in any
/// chunk of such a group fails restore, restore-into, statistics, numeric diff and verification, naming the
/// chunk's own item (not a neighbour in the group).
/// </summary>
public sealed class UnevenStoredGroupAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public UnevenStoredGroupAttackTests() => _ck = Path.GetFullPath(_dir.Sub("checkpoints"));

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    private const int M = 1 << 20;

    // Byte lengths of the tensors, in item order; each layout lets the lanes of its groups run out in another order.
    public static TheoryData<int> Layouts => new() { 0, 1, 2, 3 };

    // The flipped-bit cases read the whole step five times per place: a smaller step, still with groups whose
    // lanes run out in several orders.
    public static TheoryData<int> FlipLayouts => new() { 4 };

    private static int[] Sizes(int layout) => layout switch
    {
        0 => [(4 * M) + 13, 17, 1, (3 * M) + 1, (8 * M) + 15, 16, 65, (2 * M) + 80, 4 * M, 33],
        1 => [31, (4 * M) - 16, (4 * M) + 64, 48, 79, 4 * M, (1 * M) + 47, 3, 80, (4 * M) + (4 * M) - 1],
        2 => [(12 * M) + 1, (4 * M) + 2, 15, 64, (5 * M) + 63, 16, 32, 49],
        3 => [1, 2, 3, 4, 16, 17, 32, 33, (4 * M) + 1, (4 * M) + 17, (4 * M) + 33, (4 * M) + 49, 63, 64, 65, 80],
        _ => [1, 17, (4 * M) + 33, 65, 16, 3, (2 * M) + 1, 80, 48, (4 * M) - 16, 31, 64],
    };

    private static Dictionary<string, object?> State(int layout, int seed)
    {
        var rng = new Random(seed);
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        var sizes = Sizes(layout);
        for (var i = 0; i < sizes.Length; i++)
        {
            var bytes = new byte[sizes[i]];
            rng.NextBytes(bytes);
            state[$"t{i:D2}"] = bytes;
        }

        return state;
    }

    private List<(string Item, ChunkLayout Chunk)> StoredChunks(long step)
    {
        using var reader = StepReader.Open(new StepFolders(_ck), Path.Combine(_ck, step.ToString(System.Globalization.CultureInfo.InvariantCulture)), step, expectedManifestHash: null);
        var chunks = new List<(string, ChunkLayout)>();
        for (var t = 0; t < reader.Manifest.Tensors.Count; t++)
        {
            foreach (var chunk in reader.Manifest.Tensors[t].Chunks)
            {
                Assert.True(StepReader.IsStoredCandidate(chunk, 0), $"tensor {t}: chunk of {chunk.RawLength} bytes is not one stored block");
                chunks.Add(($"t{t:D2}", chunk));
            }
        }

        return chunks;
    }

    [Theory]
    [MemberData(nameof(Layouts))]
    public void Stored_chunks_of_uneven_lengths_restore_bit_exactly_new_into_and_in_statistics(int layout)
    {
        var state = State(layout, layout);
        _handler.Save(_ck, state, step: 1);
        _ = StoredChunks(1);

        var restored = (Dictionary<string, object?>)_handler.Restore(_ck)!;
        var template = state.ToDictionary(kv => kv.Key, kv => (object?)new byte[((byte[])kv.Value!).Length], StringComparer.Ordinal);
        var into = _handler.RestoreInto(_ck, template);
        foreach (var (name, value) in state)
        {
            Assert.True(((byte[])value!).AsSpan().SequenceEqual((byte[])restored[name]!), $"restore of {name}");
            Assert.True(((byte[])value!).AsSpan().SequenceEqual((byte[])into[name]!), $"restore-into of {name}");
        }

        Assert.True(_handler.Verify(_ck, 1).Ok);
        var stats = _handler.GetStatistics(_ck, 1);
        Assert.Equal(state.Count, stats.Count);
        _handler.Save(_ck, state, step: 2);
        Assert.All(_handler.CompareNumeric(_ck, 1, 2), d => Assert.Equal(0, d.DifferentCount));
    }

    [Theory]
    [MemberData(nameof(FlipLayouts))]
    public void One_flipped_bit_in_any_chunk_of_an_uneven_group_fails_every_reader_naming_its_item(int layout)
    {
        var state = State(layout, 100 + layout);
        _handler.Save(_ck, state, step: 1);
        _handler.Save(_ck, state, step: 2);
        var chunks = StoredChunks(1);
        var data = Path.Combine(_ck, "1", StepFormat.DataFile);
        var template = state.ToDictionary(kv => kv.Key, kv => (object?)new byte[((byte[])kv.Value!).Length], StringComparer.Ordinal);

        foreach (var (item, chunk) in chunks)
        {
            // The first and the last byte of the chunk's bytes, and the stored checksum.
            var places = new[] { 0, chunk.RawLength - 1, chunk.RawLength + 4 }.Distinct();
            foreach (var inChunk in places)
            {
                var at = chunk.Offset + Lz4Frame.StoredPrefixLength + inChunk;
                var bit = (byte)(1 << (inChunk % 8));
                Flip(data, at, bit);
                try
                {
                    var what = $"{item}: {chunk.RawLength}-byte chunk, byte {inChunk}";
                    var restore = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck, 1));
                    Assert.True(item == restore.Item, $"restore named {restore.Item} for {what}");
                    var restoreInto = Assert.Throws<CorruptCheckpointException>(() => _handler.RestoreInto(_ck, template, 1));
                    Assert.True(item == restoreInto.Item, $"restore-into named {restoreInto.Item} for {what}");
                    var stats = Assert.Throws<CorruptCheckpointException>(() => _handler.GetStatistics(_ck, 1));
                    Assert.True(item == stats.Item, $"statistics named {stats.Item} for {what}");
                    var diff = Assert.Throws<CorruptCheckpointException>(() => _handler.CompareNumeric(_ck, 2, 1));
                    Assert.True(item == diff.Item, $"numeric diff named {diff.Item} for {what}");
                    var verify = _handler.Verify(_ck, 1);
                    Assert.False(verify.Ok, what);
                    Assert.True(verify.Problems.All(p => p.Item == item), $"verify named {string.Join(',', verify.Problems.Select(p => p.Item))} for {what}");
                }
                finally
                {
                    Flip(data, at, bit);
                }
            }
        }

        Assert.True(_handler.Verify(_ck, 1).Ok);
    }

    private static void Flip(string path, long at, byte bit)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.ReadWrite);
        file.Position = at;
        var b = file.ReadByte();
        file.Position = at;
        file.WriteByte((byte)(b ^ bit));
    }
}
