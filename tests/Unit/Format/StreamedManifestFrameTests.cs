using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The manifest's LZ4 frame is compressed and written a block at a time (issue 15): the file holds the very
/// bytes the whole-frame encoder makes, at and around the 4 MiB block boundaries, one write per block, and
/// the reader, the lz4 tool and the index's manifest hash all agree with it.
/// </summary>
public sealed class StreamedManifestFrameTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>Manifest-like text with an incompressible stretch, so blocks are stored and compressed.</summary>
    private static byte[] Content(int length, int seed)
    {
        var bytes = new byte[length];
        var rng = new Random(seed);
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (i / 65_536 % 5 == 3) ? (byte)rng.Next(256) : (byte)"{\"k123\":[\"i32\",45678],"[i % 22];
        }

        return bytes;
    }

    /// <summary>Counts the writes a stream gets.</summary>
    private sealed class CountingStream : MemoryStream
    {
        public int Writes { get; private set; }

        // MemoryStream's span write of a derived type goes through the array write: each counts once, and
        // neither calls the other's override.
        public override void Write(ReadOnlySpan<byte> buffer)
        {
            Writes++;
            base.Write(buffer.ToArray(), 0, buffer.Length);
        }

        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            base.Write(buffer, offset, count);
        }
    }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(1_900_000)]
    [InlineData(Lz4Frame.BlockSize - 1)]
    [InlineData(Lz4Frame.BlockSize)]
    [InlineData(Lz4Frame.BlockSize + 1)]
    [InlineData(2 * Lz4Frame.BlockSize)]
    [InlineData((2 * Lz4Frame.BlockSize) + 777)]
    public void The_streamed_frame_is_the_whole_frame_byte_for_byte_written_once_per_block_and_reads_back(int length)
    {
        var raw = Content(length, length);
        var whole = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        var wholeLength = Lz4Frame.Encode(raw, whole);
        using var streamed = new CountingStream();
        var hash = new XXH64();

        var streamedLength = Lz4Frame.EncodeTo(raw, streamed, hash);

        Assert.Equal(wholeLength, streamedLength);
        Assert.True(whole.AsSpan(0, wholeLength).SequenceEqual(streamed.ToArray()));
        Assert.Equal(Math.Max(1, (length + Lz4Frame.BlockSize - 1) / Lz4Frame.BlockSize), streamed.Writes);
        Assert.Equal(StepWriter.ManifestHashOf(streamed.ToArray()), hash.Digest().ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
        var back = new byte[Lz4Frame.ReadContentSize(streamed.ToArray())];
        Lz4Frame.Decode(streamed.ToArray(), back);
        Assert.True(raw.AsSpan().SequenceEqual(back));
    }

    [SkippableFact]
    public void A_streamed_frame_of_three_blocks_decodes_with_the_lz4_tool()
    {
        Skip.IfNot(File.Exists("/usr/bin/lz4"), "the lz4 tool is not installed (/usr/bin/lz4); build.ps1 -Task Test installs it");
        var raw = Content((2 * Lz4Frame.BlockSize) + 12_345, 3);
        var path = _dir.Sub("manifest.json.lz4");
        using (var file = File.Create(path))
        {
            Lz4Frame.EncodeTo(raw, file, new XXH64());
        }

        Assert.True(raw.AsSpan().SequenceEqual(Lz4Tool.Decompress(path)));
    }

    [Fact]
    public void A_step_whose_manifest_spans_two_blocks_restores_and_its_index_hash_matches_the_file()
    {
        // About 200,000 string leaves of 40 characters: a manifest past 4 MiB.
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < 200_000; i++)
        {
            state["s" + i] = "value-" + i.ToString("D34", System.Globalization.CultureInfo.InvariantCulture);
        }

        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, state, step: 1);
        var manifest = File.ReadAllBytes(Path.Combine(ck, "1", StepFormat.ManifestFile));
        Assert.True(Lz4Frame.ReadContentSize(manifest) > Lz4Frame.BlockSize);

        var back = (System.Collections.IDictionary)handler.Restore(ck, 1)!;
        Assert.Equal(200_000, back.Count);
        Assert.Equal(state["s199999"], back["s199999"]);
        Assert.Empty(handler.Verify(ck, 1).Problems);
    }
}
