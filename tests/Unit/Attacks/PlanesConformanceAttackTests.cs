using System.Buffers.Binary;
using System.Text.Json.Nodes;
using DataraxCkpt.Format;
using DataraxCkpt.Tests.Format;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// Conformance sample step 6 read by docs/format.md §2.2 alone (not by <see cref="PlanePacking"/>): it must hold
/// what docs/format-samples/README.md says, packed planes with escapes, one of them at the last element, so that
/// another reader's escape handling is exercised by the corpus.
/// </summary>
public sealed class PlanesConformanceAttackTests
{
    [Fact]
    public void Sample_step_6_has_a_packed_sign_exponent_plane_with_escapes_one_at_the_last_element()
    {
        var dir = Path.Combine(ConformanceSamples.SamplesDirectory(), "6");
        var manifestFrame = File.ReadAllBytes(Path.Combine(dir, "manifest.json.lz4"));
        var manifestBytes = new byte[Lz4Frame.ReadContentSize(manifestFrame)];
        Lz4Frame.Decode(manifestFrame, manifestBytes);
        var manifest = JsonNode.Parse(manifestBytes)!;
        var tensor = manifest["tensors"]![0]!;
        Assert.Equal("planes", (string)tensor["filter"]!);
        var chunk = tensor["chunks"]![0]!.AsArray();
        var (offset, stored, raw) = ((int)chunk[0]!, (int)chunk[1]!, (int)chunk[2]!);
        var frame = File.ReadAllBytes(Path.Combine(dir, "tensors.lz4")).AsSpan(offset, stored);
        var content = new byte[Lz4Frame.ReadContentSize(frame)];
        Lz4Frame.Decode(frame, content);
        Assert.True(content.Length < raw);

        const int s = 4;
        var n = raw / s;
        var pos = 0;
        var modes = new int[s];
        uint escapes = 0;
        var lastIsEscape = false;
        for (var j = 0; j < s; j++)
        {
            modes[j] = content[pos];
            if (modes[j] == 0)
            {
                pos += 1 + n;
                continue;
            }

            escapes = BinaryPrimitives.ReadUInt32LittleEndian(content.AsSpan(pos + 16));
            var ranks = content.AsSpan(pos + 20, (n + 1) / 2);
            lastIsEscape = ((ranks[(n - 1) / 2] >> (4 * ((n - 1) & 1))) & 0x0F) == 15;
            pos += 20 + ((n + 1) / 2) + (int)escapes;
        }

        Assert.Equal(content.Length, pos + (raw - (n * s)));
        Assert.Equal(new[] { 0, 0, 0, 1 }, modes);
        Assert.True(escapes > 0, "the packed plane has no escaped bytes");
        Assert.True(lastIsEscape, "the last element is not an escape");
    }
}

/// <summary>The 510:1 bound of a planes chunk: a claim beyond it is refused naming that bound, not LZ4's 255:1.</summary>
public sealed class PlanesBoundAttackTests : IDisposable
{
    private readonly DataraxCkpt.Tests.Support.TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void A_planes_chunk_beyond_510_to_1_is_refused_naming_the_bound()
    {
        var ck = _dir.Sub("c");
        _handler.Save(ck, new Dictionary<string, object?> { ["w"] = PlanesFilterTests.Bf16Like(100_000, seed: 3) }, step: 1);
        StepFiles.Plant(ck, 1, m =>
        {
            var chunk = m["tensors"]![0]!["chunks"]![0]!.AsArray();
            chunk[1] = 28 + 700; // 510 * 701 = 357,510 < 400,000 raw bytes
        });

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck));

        Assert.Contains("510:1", e.Message);
    }
}
