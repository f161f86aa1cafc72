using DataraxCkpt.Format;
using DataraxCkpt.Tests.Format;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>A filter not defined for the dtype (hostile manifest): corruption on every path, never an unwrapped exception.</summary>
public sealed class PlanesHostileDtypeAttackTests : IDisposable
{
    private readonly DataraxCkpt.Tests.Support.TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void A_planes_filter_on_bytes_is_corruption_naming_the_item_on_restore_statistics_and_verify()
    {
        var ck = _dir.Sub("c");
        _handler.Save(ck, new Dictionary<string, object?> { ["b"] = Enumerable.Range(0, 70_000).Select(i => (byte)(i % 7)).ToArray() }, step: 1);
        StepFiles.Plant(ck, 1, m =>
        {
            m["tensors"]![0]!["filter"] = "planes";
            m["requires"]!.AsArray().Add("planes-filter");
        });

        var e = Assert.Throws<CorruptCheckpointException>(() => _handler.Restore(ck));
        Assert.Contains("'b'", e.Message);
        var s = Assert.ThrowsAny<Exception>(() => _handler.GetStatistics(ck, 1).ToList());
        Assert.IsType<CorruptCheckpointException>(s);
        // Verify reported it as a problem of the item instead of throwing InvalidDataException out of the tensor table.
        var verified = _handler.Verify(ck, 1);
        Assert.False(verified.Ok);
        Assert.Contains(verified.Problems, p => p.Item == "b" && p.Problem.Contains("planes filter is not defined for u8", StringComparison.Ordinal));
    }
}
