using System.Buffers.Binary;
using System.Globalization;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// A local manifest's frame is written in 64 KiB pieces by the engine's own LZ4 block encoder, each block's size word
/// patched after its block (round 50 of docs/performance-notes.md). The file must be the very frame the whole-block
/// encoder (K4os) makes, so every engine's reader and the lz4 tool read it: for manifest text, incompressible,
/// all-zero and mixed content, empty, around the 64 KiB table switch and the 4 MiB block boundaries, and for a block
/// whose encoding ends up no shorter than its input after pieces of it were already written (stored raw instead).
/// </summary>
public sealed class PiecedManifestFrameTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    public static TheoryData<string, int> KindsAndLengths()
    {
        var data = new TheoryData<string, int>();
        foreach (var kind in new[] { "manifest", "random", "zeros", "mixed", "barely" })
        {
            foreach (var length in new[]
            {
                0, 1, 12, 13, 100, 65_546, 65_547, 65_548, 200_000, 1_900_000,
                Lz4Frame.BlockSize - 1, Lz4Frame.BlockSize, Lz4Frame.BlockSize + 1, (2 * Lz4Frame.BlockSize) + 777,
            })
            {
                data.Add(kind, length);
            }
        }

        return data;
    }

    /// <summary>
    /// Content of one kind: a state node of integer leaves; random bytes; zeros; text with 64 KiB random stretches;
    /// or units of 3,500 random bytes followed by a copy of the unit's first 16 (which the parse's skip steps mostly
    /// miss), stored raw.
    /// </summary>
    private static byte[] Content(string kind, int length)
    {
        var rng = new Random(length + kind.Length);
        var bytes = new byte[length];
        switch (kind)
        {
            case "manifest":
                var text = new StringBuilder(length + 32).Append('{');
                for (var i = 0; text.Length < length; i++)
                {
                    text.Append("\"k").Append(i.ToString(CultureInfo.InvariantCulture)).Append("\":")
                        .Append(((i * 7919) % 100_003).ToString(CultureInfo.InvariantCulture)).Append(',');
                }

                Encoding.ASCII.GetBytes(text.ToString(0, length), bytes);
                break;
            case "random":
                rng.NextBytes(bytes);
                break;
            case "zeros":
                break;
            case "mixed":
                for (var i = 0; i < length; i++)
                {
                    bytes[i] = (i / 65_536 % 5 == 3) ? (byte)rng.Next(256) : (byte)"{\"k123\":[\"i32\",45678],"[i % 22];
                }

                break;
            case "barely":
                rng.NextBytes(bytes);
                for (var unit = 0; unit + 3516 <= length; unit += 3516)
                {
                    bytes.AsSpan(unit, 16).CopyTo(bytes.AsSpan(unit + 3500));
                }

                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "no such content");
        }

        return bytes;
    }

    /// <summary>A staging file as the engine opens it, that records the largest single write and whether it was sought back.</summary>
    private sealed class RecordingFile(string path)
        : FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.None)
    {
        public int Writes { get; private set; }

        public int LargestWrite { get; private set; }

        public bool SoughtBack { get; private set; }

        // A FileStream of a derived type hands span writes to this overload (a copy through a rented array), so every write counts here once.
        public override void Write(byte[] buffer, int offset, int count)
        {
            Writes++;
            LargestWrite = Math.Max(LargestWrite, count);
            base.Write(buffer, offset, count);
        }

        public override long Seek(long offset, SeekOrigin origin)
        {
            SoughtBack |= origin == SeekOrigin.Begin && offset < Position;
            return base.Seek(offset, origin);
        }
    }

    private (byte[] File, long Length, ulong Hash, RecordingFile Stream) WritePieced(byte[] raw)
    {
        var path = _dir.Sub("m" + Guid.NewGuid().ToString("N"));
        var file = new RecordingFile(path);
        long length;
        ulong hash;
        using (file)
        {
            (length, hash) = Lz4Frame.EncodeToFile(raw, file);
        }

        return (File.ReadAllBytes(path), length, hash, file);
    }

    private static byte[] WholeFrame(byte[] raw)
    {
        var whole = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        return whole.AsSpan(0, Lz4Frame.Encode(raw, whole)).ToArray();
    }

    [Theory]
    [MemberData(nameof(KindsAndLengths))]
    public void The_pieced_frame_is_the_whole_block_encoders_frame_byte_for_byte_and_reads_back(string kind, int length)
    {
        var raw = Content(kind, length);

        var (file, written, hash, _) = WritePieced(raw);

        Assert.True(WholeFrame(raw).AsSpan().SequenceEqual(file), $"{kind} of {length} bytes: the pieced frame differs from Lz4Frame.Encode's");
        Assert.Equal(file.Length, written);
        Assert.Equal(XXH64.DigestOf(file), hash);
        var back = new byte[Lz4Frame.ReadContentSize(file)];
        Lz4Frame.Decode(file, back);
        Assert.True(raw.AsSpan().SequenceEqual(back));
    }

    [Fact]
    public void Random_mixes_of_literals_runs_and_copies_near_and_beyond_64_KiB_give_the_whole_block_encoders_frame()
    {
        // 300 contents of 0 to 300,000 bytes built from random bytes, byte runs, and copies of earlier bytes at
        // distances up to 80,000 (past LZ4's 65,535 reach) and lengths up to 5,000, in random order: the parse's
        // skip steps, catch-up, match-at-next-position and end rules all run, at random offsets from the block's end.
        var rng = new Random(48);
        for (var round = 0; round < 300; round++)
        {
            var raw = new byte[rng.Next(0, 300_001)];
            var at = 0;
            while (at < raw.Length)
            {
                var take = Math.Min(raw.Length - at, rng.Next(1, 5_000));
                switch (rng.Next(3))
                {
                    case 0:
                        rng.NextBytes(raw.AsSpan(at, take));
                        break;
                    case 1:
                        raw.AsSpan(at, take).Fill((byte)rng.Next(4));
                        break;
                    default:
                        var from = at - rng.Next(1, 80_000);
                        for (var i = 0; i < take; i++)
                        {
                            raw[at + i] = from + i >= 0 ? raw[from + i] : (byte)i;
                        }

                        break;
                }

                at += take;
            }

            var (file, _, hash, _) = WritePieced(raw);

            Assert.True(WholeFrame(raw).AsSpan().SequenceEqual(file), $"round {round}, {raw.Length} bytes: the pieced frame differs from Lz4Frame.Encode's");
            Assert.Equal(XXH64.DigestOf(file), hash);
        }
    }

    [Fact]
    public void A_100000_leaf_manifest_goes_to_the_file_in_pieces_of_at_most_64_KiB()
    {
        // About the 100,000-int state node: 3.3 MB that compress to about a megabyte, once written with one call.
        var raw = Content("manifest", 3_300_000);

        var (file, _, _, stream) = WritePieced(raw);

        Assert.True(stream.LargestWrite <= Lz4Pieces.PieceSize, $"the largest write was {stream.LargestWrite} bytes");
        Assert.True(stream.Writes >= file.Length / Lz4Pieces.PieceSize, $"{stream.Writes} writes for {file.Length} bytes");
        Assert.True(WholeFrame(raw).AsSpan().SequenceEqual(file));
    }

    [Fact]
    public void A_block_found_incompressible_is_stored_raw_as_the_whole_block_encoder_stores_it()
    {
        var raw = Content("barely", 1 << 20);

        var (file, _, _, _) = WritePieced(raw);

        Assert.Equal((1u << 20) | 0x80000000u, BinaryPrimitives.ReadUInt32LittleEndian(file.AsSpan(15)));
        Assert.True(WholeFrame(raw).AsSpan().SequenceEqual(file));
        var back = new byte[raw.Length];
        Lz4Frame.Decode(file, back);
        Assert.True(raw.AsSpan().SequenceEqual(back));
    }

    [Fact]
    public void Bytes_rewound_past_what_reached_the_file_are_overwritten_and_patches_land_in_the_file_and_in_the_buffer()
    {
        // The encoder's give-up after pieces went out: the file is sought back and written over. Content and
        // parse alone rarely get there (LZ4's skip steps find too few matches in near-random input to expand it
        // gradually), so the pieces are driven directly.
        var path = _dir.Sub("pieces");
        ulong hash;
        using (var stream = new RecordingFile(path))
        {
            using var pieces = new Lz4Pieces(stream);
            pieces.Write(Enumerable.Repeat((byte)1, 100_000).ToArray());
            pieces.RewindTo(10);
            pieces.Write(Enumerable.Repeat((byte)2, 100_000).ToArray());
            pieces.Take(6).Fill(3);
            pieces.Patch(0, [9, 9, 9, 9]);
            pieces.Patch(100_006, [7, 7]);
            pieces.Patch(100_012, [5]);
            Assert.True(stream.SoughtBack);
            hash = pieces.Finish();
        }

        byte[] expected = [9, 9, 9, 9, 1, 1, 1, 1, 1, 1, .. Enumerable.Repeat((byte)2, 99_996), 7, 7, 2, 2, 3, 3, 5, 3, 3, 3];
        var file = File.ReadAllBytes(path);
        Assert.Equal(expected, file);
        Assert.Equal(XXH64.DigestOf(file), hash);
    }

    /// <summary>
    /// The engine opens the staging file unbuffered, but the encoder must not depend on it: it patches block words and
    /// reads the frame back for its hash through the file's handle, past any FileStream buffer. With a buffer larger than
    /// a piece (1 MiB), the pieces sat in that buffer, so the patch landed beyond the file's end and was overwritten with
    /// the zeros of the placeholder, and the hash read a short file (review of session 19).
    /// </summary>
    [Theory]
    [InlineData("manifest", 3_300_000, 1 << 20)]
    [InlineData("barely", 1 << 20, 1 << 20)]
    [InlineData("mixed", (2 * Lz4Frame.BlockSize) + 12_345, 1 << 20)]
    [InlineData("random", 200_000, 4096)]
    [InlineData("manifest", 100, 1 << 20)]
    public void A_buffered_file_stream_gets_the_same_frame_and_its_hash(string kind, int length, int bufferSize)
    {
        var raw = Content(kind, length);
        var path = _dir.Sub("buffered.json.lz4");
        long written;
        ulong hash;
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, bufferSize, FileOptions.None))
        {
            (written, hash) = Lz4Frame.EncodeToFile(raw, file);
        }

        var frame = File.ReadAllBytes(path);
        Assert.True(WholeFrame(raw).AsSpan().SequenceEqual(frame));
        Assert.Equal(frame.Length, written);
        Assert.Equal(XXH64.DigestOf(frame), hash);
    }

    [SkippableTheory]
    [InlineData("manifest", 0)]
    [InlineData("manifest", 3_300_000)]
    [InlineData("zeros", Lz4Frame.BlockSize)]
    [InlineData("random", 200_000)]
    [InlineData("barely", 1 << 20)]
    [InlineData("mixed", (2 * Lz4Frame.BlockSize) + 12_345)]
    public void A_pieced_frame_decodes_with_the_lz4_tool(string kind, int length)
    {
        Skip.IfNot(File.Exists("/usr/bin/lz4"), "the lz4 tool is not installed (/usr/bin/lz4); build.ps1 -Task Test installs it");
        var raw = Content(kind, length);
        var path = _dir.Sub("manifest.json.lz4");
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 0, FileOptions.None))
        {
            Lz4Frame.EncodeToFile(raw, file);
        }

        Assert.True(raw.AsSpan().SequenceEqual(Lz4Tool.Decompress(path)));
    }

    [Fact]
    public void A_saved_100000_int_state_has_a_valid_manifest_frame_the_lz4_tool_reads_and_its_index_hash()
    {
        var state = new Dictionary<string, object?>(StringComparer.Ordinal);
        for (var i = 0; i < 100_000; i++)
        {
            state["k" + i.ToString(CultureInfo.InvariantCulture)] = i * 7;
        }

        using var handler = new CheckpointHandler();
        var ck = _dir.Sub("ck");
        handler.Save(ck, state, step: 1);

        var manifest = File.ReadAllBytes(Path.Combine(ck, "1", StepFormat.ManifestFile));
        var content = new byte[Lz4Frame.ReadContentSize(manifest)];
        // Since round 69 a save's frame is built while the walk runs (state node first), not by the whole-block
        // encoder: its bytes are not K4os's, only a frame of the format's shape (the decoder checks it) that lz4 reads.
        Lz4Frame.Decode(manifest, content);
        Assert.True(content.AsSpan().SequenceEqual(Lz4Tool.Decompress(Path.Combine(ck, "1", StepFormat.ManifestFile))));
        // Verify compares the index row's manifest hash with the file's.
        Assert.Empty(handler.Verify(ck, 1).Problems);
        var back = (System.Collections.IDictionary)handler.Restore(ck, 1)!;
        Assert.Equal(100_000, back.Count);
        Assert.Equal(699_993L, Convert.ToInt64(back["k99999"], CultureInfo.InvariantCulture));
    }
}
