using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A step's item list is one SQLite value, which SQLite caps (10^9 bytes by default; about 10^8 tiny
/// leaves). A save whose list cannot fit is refused before the step's files are written, with an error
/// naming the limit and what to do, instead of failing at the index commit. The cap is lowered here
/// through the handler's test-only option, as 10^8 leaves are impractical in a test.
/// </summary>
public sealed class ItemListLimitTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public ItemListLimitTests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> Leaves(int count) =>
        Enumerable.Range(0, count).ToDictionary(i => $"k{i:D5}", i => (object?)i);

    /// <summary>The payload length a layout-2 list states (the varint after its layout byte and item count).</summary>
    private long PayloadLength(long step)
    {
        using var index = PlantedManifest.OpenIndex(_ck);
        using var cmd = index.CreateCommand();
        cmd.CommandText = "SELECT items FROM step_items WHERE step = $s;";
        cmd.Parameters.AddWithValue("$s", step);
        var blob = (byte[])cmd.ExecuteScalar()!;
        Assert.Equal(ItemListCodec.Layout, blob[0]);
        var pos = 1;
        _ = Varint(blob, ref pos);
        return Varint(blob, ref pos);
    }

    private static long Varint(byte[] blob, ref int pos)
    {
        long value = 0;
        for (var shift = 0; ; shift += 7)
        {
            var b = blob[pos++];
            value |= (long)(b & 0x7F) << shift;
            if (b < 0x80)
            {
                return value;
            }
        }
    }

    [Fact]
    public void A_save_whose_item_list_cannot_fit_the_index_is_refused_before_its_files_are_written()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, Leaves(3), step: 1);
        }

        using var limited = new CheckpointHandler(new CheckpointOptions { MaxItemListBytes = 10_000 });
        // 2,000 leaves named k00000…: at least 2,000 × (6 + 6) bytes of item list.
        var e = Assert.Throws<UnsupportedValueException>(() => limited.Save(_ck, Leaves(2_000), step: 2));

        Assert.Contains("10,000 bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains("SQLite", e.Message, StringComparison.Ordinal);
        Assert.Contains("2,000 leaves", e.Message, StringComparison.Ordinal);
        Assert.Contains("arrays or tensors", e.Message, StringComparison.Ordinal);
        Assert.Equal(new long[] { 1 }, limited.GetCheckpointSteps(_ck));
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")));
        var staging = Path.Combine(_ck, ".staging");
        Assert.True(!Directory.Exists(staging) || Directory.GetFileSystemEntries(staging).Length == 0);
        Assert.Equal(Leaves(3), limited.Restore(_ck, 1));
        // The same directory takes a save that fits.
        limited.Save(_ck, Leaves(10), step: 2);
        Assert.Equal(new long[] { 1, 2 }, limited.GetCheckpointSteps(_ck));
    }

    [Fact]
    public void A_save_whose_item_list_is_exactly_the_limit_is_not_refused()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, Leaves(500), step: 1);
        }

        // The limit bounds the list's payload (docs/format.md §3.1, layout 2), which its blob stores compressed.
        var exact = PayloadLength(1);
        using var limited = new CheckpointHandler(new CheckpointOptions { MaxItemListBytes = exact });
        limited.Save(_ck, Leaves(500), step: 2);

        Assert.Equal(exact, PayloadLength(2));
        Assert.Equal(Leaves(500), limited.Restore(_ck, 2));
    }
}
