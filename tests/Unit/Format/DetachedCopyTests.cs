using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Format;

/// <summary>Asynchronous saves copy the state into pooled blocks; the step must hold the values of the moment Save was called.</summary>
public sealed class DetachedCopyTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new(new CheckpointOptions { Async = true });
    private readonly string _ck;

    public DetachedCopyTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public void Changes_after_an_async_save_returns_do_not_reach_the_step()
    {
        // 20 MiB: copied on all cores, several 4 MiB blocks and a partial last one.
        var weights = Enumerable.Range(0, (5 << 20) + 3).Select(i => (float)i).ToArray();
        _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: 1);
        Array.Fill(weights, -1f);

        _handler.WaitUntilFinished();
        var restored = (float[])((Dictionary<string, object?>)_handler.Restore(_ck, 1)!)["w"]!;

        Assert.Equal(Enumerable.Range(0, (5 << 20) + 3).Select(i => (float)i), restored);
    }

    [Fact]
    public void Back_to_back_async_saves_each_keep_their_own_values()
    {
        var weights = new float[3 << 20];
        for (var step = 1; step <= 3; step++)
        {
            Array.Fill(weights, step);
            _handler.Save(_ck, new Dictionary<string, object?> { ["w"] = weights }, step: step);
        }

        _handler.WaitUntilFinished();

        for (var step = 1; step <= 3; step++)
        {
            var restored = (float[])((Dictionary<string, object?>)_handler.Restore(_ck, step)!)["w"]!;
            Assert.All(restored, v => Assert.Equal(step, v));
        }
    }

    [Fact]
    public void A_released_copy_cannot_be_read()
    {
        var source = new TensorSource(new float[1024], typeof(float), [1024], "f32[]");
        source.Detach();
        source.ReleaseCopy();

        Assert.Throws<ObjectDisposedException>(() => source.Bytes(0, 16).Length);
    }

    [Fact]
    public void A_view_of_a_detached_copy_may_not_cross_a_block_boundary()
    {
        var source = new TensorSource(new byte[TensorSource.CopyBlockSize + 64], typeof(byte), [TensorSource.CopyBlockSize + 64], "u8[]");
        source.Detach();

        Assert.Throws<ArgumentOutOfRangeException>(() => source.Bytes(TensorSource.CopyBlockSize - 8, 16).Length);
        Assert.Equal(64, source.Bytes(TensorSource.CopyBlockSize, 64).Length);
    }
}
