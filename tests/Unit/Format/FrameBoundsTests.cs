using System.Buffers.Binary;
using System.Text;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>Declared sizes are bounded by the bytes stored for them, and a malformed frame is reported as corruption of a named item.</summary>
public sealed class FrameBoundsTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public FrameBoundsTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void A_frame_header_claiming_more_than_255_times_its_block_bytes_is_refused()
    {
        var raw = new byte[1000];
        var frame = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        var length = Lz4Frame.Encode(raw, frame);
        var claim = 255L * (length - Lz4Frame.MinFrameOverhead) + 1;
        BinaryPrimitives.WriteUInt64LittleEndian(frame.AsSpan(6), (ulong)claim);
        frame[14] = HeaderChecksumOf(frame.AsSpan(4, 10));

        var e = Assert.Throws<InvalidDataException>(() => Lz4Frame.ReadContentSize(frame.AsSpan(0, length)));
        Assert.Contains("255", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_chunk_declaring_more_than_255_times_its_stored_bytes_is_refused_when_the_manifest_is_read()
    {
        var json = ManifestWithChunk(stored: 1000, raw: 4 << 20, dataLength: 1000);

        var e = Assert.Throws<InvalidDataException>(() => ManifestCodec.Parse(json, 1000));
        Assert.Contains("255", e.Message, StringComparison.Ordinal);
        Assert.Contains("item 'w'", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(27)]
    public void A_chunk_shorter_than_the_smallest_frame_is_refused_when_the_manifest_is_read(int stored)
    {
        var json = ManifestWithChunk(stored, raw: 4, dataLength: stored);

        var e = Assert.Throws<InvalidDataException>(() => ManifestCodec.Parse(json, stored));
        Assert.Contains("shorter than", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_truncated_chunk_frame_fails_the_restore_as_corruption_naming_the_step_and_the_item()
    {
        // Two chunks, so the reader decodes in parallel: a failure must not surface as AggregateException.
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = Ramp(3 << 20) }, step: 1);
        StepFiles.Plant(_ck, 1, m => m["tensors"]![0]!["chunks"]![1]![1] = 3);

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        Assert.Equal(1, e.Step);
        Assert.Equal("w", e.Item);
    }

    [Fact]
    public void A_chunk_whose_frame_lies_about_its_blocks_fails_the_restore_as_corruption_naming_the_step_and_the_item()
    {
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = Ramp(3 << 20) }, step: 1);
        var data = Path.Combine(_ck, "1", StepFormat.DataFile);
        var bytes = File.ReadAllBytes(data);
        var manifest = StepFiles.ReadManifest(_ck, 1);
        var second = manifest["tensors"]![0]!["chunks"]![1]!;
        var offset = (int)second[0]!.GetValue<long>();
        // The block word claims more bytes than the frame holds.
        BinaryPrimitives.WriteUInt32LittleEndian(bytes.AsSpan(offset + 15), 0x7FFFFFFF);
        File.WriteAllBytes(data, bytes);

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(_ck));
        Assert.Equal(1, e.Step);
        Assert.Equal("w", e.Item);
        Assert.NotEmpty(_handler.Verify(_ck, 1).Problems);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(255)]
    [InlineData(65536)]
    [InlineData(4 << 20)]
    public void The_frame_bound_is_the_one_docs_format_md_states(int raw)
    {
        // docs/format.md §2.1: 15 + 4 + (r + r/255 + 16) + 4 + 4.
        Assert.Equal(15 + 4 + (raw + raw / 255 + 16) + 4 + 4, Lz4Frame.MaxFrameLength(raw));
    }

    [Fact]
    public void A_4MiB_run_of_zeros_compresses_within_the_255_to_1_limit_the_reader_enforces()
    {
        var raw = new byte[4 << 20];
        var frame = new byte[Lz4Frame.MaxFrameLength(raw.Length)];
        var length = Lz4Frame.Encode(raw, frame, K4os.Compression.LZ4.LZ4Level.L12_MAX);

        Assert.True((ulong)raw.Length <= Lz4Frame.MaxContentLength(length), $"{raw.Length} bytes in a frame of {length}");
        var back = new byte[raw.Length];
        Lz4Frame.Decode(frame.AsSpan(0, length), back);
    }

    [Fact]
    public void A_jagged_numeric_array_is_a_list_node_whose_items_are_tensor_nodes()
    {
        _handler.Save(_ck, new float[][] { [1, 2], [3] }, step: 1);

        var state = StepFiles.ReadManifest(_ck, 1)["state"]!;

        Assert.Equal("f32[][]", state["t"]!.GetValue<string>());
        Assert.All(state["i"]!.AsArray(), n => Assert.Equal("tensor", n!["t"]!.GetValue<string>()));
        Assert.Equal(new float[][] { [1, 2], [3] }, (float[][])_handler.Restore(_ck)!);
    }

    private static float[] Ramp(int count)
    {
        var values = new float[count];
        for (var i = 0; i < values.Length; i++)
        {
            values[i] = i % 1000;
        }

        return values;
    }

    private static byte[] ManifestWithChunk(int stored, int raw, long dataLength)
    {
        var manifest = new JsonObject
        {
            ["format"] = "dataraxckpt-step",
            ["version"] = 1,
            ["step"] = 1,
            ["saveId"] = "00000000000000000000000000000001",
            ["createdUtc"] = "2026-11-30T00:00:00.0000000Z",
            ["size"] = raw,
            ["dataFile"] = "tensors.lz4",
            ["dataLength"] = dataLength,
            ["tensors"] = new JsonArray(new JsonObject
            {
                ["dtype"] = "u8",
                ["shape"] = new JsonArray(raw),
                ["filter"] = "none",
                ["chunks"] = new JsonArray(new JsonArray(0, stored, raw, 0)),
            }),
            ["items"] = new JsonArray(new JsonArray("w", "tensor", "u8", new JsonArray(raw), raw, 0)),
            ["metadata"] = new JsonObject { ["t"] = "dict<str,any>", ["e"] = new JsonArray() },
            ["state"] = new JsonObject { ["t"] = "hashtable", ["e"] = new JsonArray(new JsonArray("w", new JsonObject { ["t"] = "tensor", ["ct"] = "u8[]", ["i"] = 0 })) },
        };
        return Encoding.UTF8.GetBytes(manifest.ToJsonString());
    }

    private static byte HeaderChecksumOf(ReadOnlySpan<byte> descriptor) => (byte)((K4os.Hash.xxHash.XXH32.DigestOf(descriptor) >> 8) & 0xFF);
}
