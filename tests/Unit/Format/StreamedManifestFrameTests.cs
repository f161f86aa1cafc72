using System.Buffers.Binary;
using System.Collections;
using System.Text;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>
/// The manifest's frame built while its content is produced (round 69): whatever the content and however it is cut
/// into parts, the frame has format §2.1's shape (header flags, 4 MiB independent blocks each but the last exactly
/// 4 MiB raw, block words within 4 MiB, content size and checksum), decodes to the content with the engine's reader
/// and with the lz4 tool. Its bytes are not pinned: the parse over parts is not the one-call parse.
/// </summary>
public sealed class StreamedManifestFrameTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private static byte[] Content(string kind, int length)
    {
        var bytes = new byte[length];
        var random = new Random(length ^ kind.Length);
        switch (kind)
        {
            case "manifest":
                var text = new StringBuilder();
                for (var i = 0; text.Length < length; i++)
                {
                    text.Append("[\"k").Append(i).Append("\",{\"t\":\"i32\",\"v\":").Append(i * 7).Append("}],");
                }

                Encoding.ASCII.GetBytes(text.ToString(0, length), bytes);
                break;
            case "random":
                random.NextBytes(bytes);
                break;
            case "mixed":
                // Compressible text with incompressible stretches of up to 100,000 bytes.
                Content("manifest", length).CopyTo(bytes, 0);
                for (var at = 0; at < length; at += 300_000)
                {
                    random.NextBytes(bytes.AsSpan(at, Math.Min(random.Next(1, 100_000), length - at)));
                }

                break;
            default:
                break;
        }

        return bytes;
    }

    private static byte[] Frame(byte[] content, int part)
    {
        using var frame = new Lz4StreamedFrame();
        for (var at = 0; at < content.Length; at += part)
        {
            frame.Append(content.AsSpan(at, Math.Min(part, content.Length - at)));
        }

        frame.Finish();
        using var file = new MemoryStream();
        var (length, hash) = frame.CopyTo(file);
        var bytes = file.ToArray();
        Assert.Equal(bytes.Length, length);
        Assert.Equal(K4os.Hash.xxHash.XXH64.DigestOf(bytes), hash);
        return bytes;
    }

    /// <summary>Walks the frame as §2.1 lays it out; returns its blocks' raw-stored flags.</summary>
    private static List<bool> AssertShape(byte[] frame, int contentLength)
    {
        Assert.Equal(0x184D2204u, BinaryPrimitives.ReadUInt32LittleEndian(frame));
        Assert.Equal(0x6C, frame[4]);
        Assert.Equal(0x70, frame[5]);
        Assert.Equal((ulong)contentLength, BinaryPrimitives.ReadUInt64LittleEndian(frame.AsSpan(6)));
        var raw = new List<bool>();
        var pos = 15;
        while (true)
        {
            var word = BinaryPrimitives.ReadUInt32LittleEndian(frame.AsSpan(pos));
            pos += 4;
            if (word == 0)
            {
                break;
            }

            var length = (int)(word & 0x7FFFFFFF);
            Assert.InRange(length, 1, Lz4Frame.BlockSize);
            raw.Add((word & 0x80000000) != 0);
            pos += length;
        }

        Assert.Equal(frame.Length, pos + 4);
        Assert.Equal((contentLength + Lz4Frame.BlockSize - 1) / Lz4Frame.BlockSize, raw.Count);
        var decoded = new byte[contentLength];
        // The reader takes each block but the last as exactly 4 MiB raw and checks the content checksum.
        Lz4Frame.Decode(frame, decoded);
        return raw;
    }

    public static TheoryData<string, int, int> KindsLengthsParts()
    {
        var data = new TheoryData<string, int, int>();
        int[] lengths = [0, 1, 12, 13, 100, 65_535, 65_536, 65_537, 65_547, 200_000, Lz4Frame.BlockSize - 1, Lz4Frame.BlockSize, Lz4Frame.BlockSize + 1, (2 * Lz4Frame.BlockSize) + 777];
        foreach (var kind in new[] { "manifest", "random", "zeros", "mixed" })
        {
            foreach (var length in lengths)
            {
                foreach (var part in new[] { 65_536, 7_919 })
                {
                    data.Add(kind, length, part);
                }
            }
        }

        data.Add("manifest", 3_300_000, 1);
        data.Add("manifest", 3_300_000, 3_300_000);
        data.Add("mixed", (2 * Lz4Frame.BlockSize) + 777, 100_003);
        return data;
    }

    [Theory]
    [MemberData(nameof(KindsLengthsParts))]
    public void The_frame_has_the_formats_shape_and_decodes_to_the_content(string kind, int length, int part)
    {
        var content = Content(kind, length);
        var frame = Frame(content, part);
        AssertShape(frame, length);
        var decoded = new byte[length];
        Lz4Frame.Decode(frame, decoded);
        Assert.True(content.AsSpan().SequenceEqual(decoded));
    }

    [Fact]
    public void Compressible_content_shrinks_and_an_incompressible_block_is_stored_raw()
    {
        var text = Frame(Content("manifest", 3_300_000), 65_536);
        Assert.True(text.Length < 3_300_000 / 2, $"{text.Length} bytes for 3.3 MB of manifest text");
        Assert.Equal([false], AssertShape(text, 3_300_000));
        // Random bytes never let the block's raw bytes go (the output could still outgrow them): stored raw.
        Assert.Equal([true, true], AssertShape(Frame(Content("random", Lz4Frame.BlockSize + 5), 65_536), Lz4Frame.BlockSize + 5));
    }

    [Theory]
    [InlineData("manifest", 0, 65_536)]
    [InlineData("manifest", 3_300_000, 7_919)]
    [InlineData("zeros", Lz4Frame.BlockSize, 65_536)]
    [InlineData("mixed", (2 * Lz4Frame.BlockSize) + 777, 100_003)]
    public void Without_the_block_parse_every_block_is_stored_raw_and_the_frame_still_decodes(string kind, int length, int part)
    {
        // A big-endian host has no block parse (its word reads are little-endian): the frame keeps each block whole
        // and stores it raw. Forced here on this host.
        var content = Content(kind, length);
        using var frame = new Lz4StreamedFrame(compress: false);
        for (var at = 0; at < content.Length; at += part)
        {
            frame.Append(content.AsSpan(at, Math.Min(part, content.Length - at)));
        }

        frame.Finish();
        using var stream = new MemoryStream();
        frame.CopyTo(stream);
        var bytes = stream.ToArray();
        Assert.All(AssertShape(bytes, length), Assert.True);
        var file = Path.Combine(_dir.Path, $"raw-{kind}-{length}.lz4");
        File.WriteAllBytes(file, bytes);
        Assert.True(content.AsSpan().SequenceEqual(Lz4Tool.Decompress(file)));
    }

    [Theory]
    [InlineData("manifest", 0)]
    [InlineData("manifest", 3_300_000)]
    [InlineData("zeros", Lz4Frame.BlockSize)]
    [InlineData("random", 200_000)]
    [InlineData("mixed", (2 * Lz4Frame.BlockSize) + 12_345)]
    public void The_lz4_tool_tests_and_decodes_the_frame(string kind, int length)
    {
        var content = Content(kind, length);
        var file = Path.Combine(_dir.Path, $"{kind}-{length}.lz4");
        File.WriteAllBytes(file, Frame(content, 65_536));
        var psi = new System.Diagnostics.ProcessStartInfo(Lz4Tool.Path, ["-t", file]) { RedirectStandardError = true };
        using (var test = System.Diagnostics.Process.Start(psi)!)
        {
            test.StandardError.ReadToEnd();
            test.WaitForExit();
            Assert.Equal(0, test.ExitCode);
        }

        Assert.True(content.AsSpan().SequenceEqual(Lz4Tool.Decompress(file)));
    }

    [Fact]
    public void A_saved_step_has_its_state_node_first_and_the_lz4_tool_reads_its_manifest()
    {
        var ck = _dir.Sub("ck");
        var state = new Hashtable();
        for (var i = 0; i < 100_000; i++)
        {
            state["k" + i] = i;
        }

        using var handler = new CheckpointHandler();
        handler.Save(ck, state, step: 1);
        var stored = PlantedManifest.ReadStoredJson(ck, 1);
        Assert.StartsWith("{\"state\":{", Encoding.UTF8.GetString(stored, 0, 10));
        Assert.EndsWith("}", Encoding.UTF8.GetString(stored, stored.Length - 1, 1));
        Assert.True(stored.AsSpan().SequenceEqual(Lz4Tool.Decompress(PlantedManifest.ManifestPath(ck, 1))));
        var back = Assert.IsType<Hashtable>(handler.Restore(ck, 1));
        Assert.Equal(100_000, back.Count);
        Assert.Equal(99_999, back["k99999"]);
        Assert.True(handler.Verify(ck, 1).Ok);
        Assert.Equal(100_000, handler.GetItems(ck, 1).Count);
    }

    [Theory]
    [InlineData(Lz4Frame.BlockSize - 9 - 1)]
    [InlineData(Lz4Frame.BlockSize - 9)]
    [InlineData(Lz4Frame.BlockSize + 100)]
    [InlineData((2 * Lz4Frame.BlockSize) + 65_536)]
    public void A_state_whose_manifest_spans_blocks_saves_restores_and_verifies(int textLength)
    {
        // One long string puts the node's bytes where the test wants them: across the first block's end, or with the
        // opening and the node filling it exactly.
        var ck = _dir.Sub("ck" + textLength);
        var text = Encoding.ASCII.GetString(Content("mixed", textLength).Select(b => (byte)('a' + (b % 26))).ToArray());
        var state = new Hashtable { ["s"] = text, ["w"] = new float[] { 1, 2, 3 } };
        using var handler = new CheckpointHandler();
        handler.Save(ck, state, step: 1);
        var frame = File.ReadAllBytes(PlantedManifest.ManifestPath(ck, 1));
        var stored = PlantedManifest.ReadStoredJson(ck, 1);
        AssertShape(frame, stored.Length);
        Assert.True(stored.AsSpan().SequenceEqual(Lz4Tool.Decompress(PlantedManifest.ManifestPath(ck, 1))));
        var back = Assert.IsType<Hashtable>(handler.Restore(ck, 1));
        Assert.Equal(text, back["s"]);
        Assert.True(handler.Verify(ck, 1).Ok);
    }

    [Fact]
    public void Every_conformance_state_saved_state_first_reads_back_as_the_corpus_expects()
    {
        var samples = ConformanceSamples.SamplesDirectory();
        var ck = _dir.Sub("fresh");
        using var handler = new CheckpointHandler();
        var count = 0;
        foreach (var (step, state, metadata) in ConformanceSamples.States())
        {
            handler.Save(ck, state, step: step, metadata: metadata);
            var stored = PlantedManifest.ReadStoredJson(ck, step);
            Assert.StartsWith("{\"state\":", Encoding.UTF8.GetString(stored, 0, 9));
            Assert.True(stored.AsSpan().SequenceEqual(Lz4Tool.Decompress(PlantedManifest.ManifestPath(ck, step))));
            var expected = System.Text.Json.Nodes.JsonNode.Parse(File.ReadAllText(Path.Combine(samples, $"{step}.expected.json")))!;
            var actual = ConformanceSamples.Expected(handler, ck, step);
            // The fields the generator test compares for a fresh save (items and stored sizes differ for the legacy samples).
            foreach (var field in new[] { "state", "metadata", "shared", "size" })
            {
                Assert.True(System.Text.Json.Nodes.JsonNode.DeepEquals(expected[field], actual[field]), $"step {step}, {field}");
            }

            Assert.True(handler.Verify(ck, step).Ok);
            count++;
        }

        Assert.True(count > 5, $"{count} conformance states");
    }
}
