using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Format;

/// <summary>A synchronous save of arrays another thread keeps changing still writes a step that passes its checksums.</summary>
public sealed class SaveRaceTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly CheckpointHandler _handler = new();
    private readonly string _ck;

    public SaveRaceTests() => _ck = _dir.Sub("checkpoints");

    public void Dispose()
    {
        _handler.Dispose();
        _dir.Dispose();
    }

    [Fact]
    public async Task Arrays_changed_during_a_synchronous_save_restore_to_content_that_passes_every_checksum()
    {
        // One array that compresses (LZ4 path) and one that does not (stored path), each several chunks.
        var smooth = new int[3 << 20];
        var noise = new int[3 << 20];
        var random = new Random(5);
        for (var i = 0; i < noise.Length; i++)
        {
            noise[i] = random.Next();
        }

        using var stop = new CancellationTokenSource();
        var mutator = Task.Run(() =>
        {
            var r = new Random(7);
            var round = 0;
            while (!stop.IsCancellationRequested)
            {
                round++;
                for (var i = 0; i < smooth.Length; i += 1024)
                {
                    smooth[i] = round;
                    noise[r.Next(noise.Length)] ^= round;
                }
            }
        });

        try
        {
            for (var step = 1; step <= 6; step++)
            {
                _handler.Save(_ck, new Dictionary<string, object?> { ["smooth"] = smooth, ["noise"] = noise }, step: step);
            }
        }
        finally
        {
            stop.Cancel();
            await mutator;
        }

        for (var step = 1; step <= 6; step++)
        {
            var verification = _handler.Verify(_ck, step);
            Assert.True(verification.Ok, $"step {step}: {string.Join("; ", verification.Problems.Select(p => $"{p.Item}: {p.Problem}"))}");
            var restored = (Dictionary<string, object?>)_handler.Restore(_ck, step)!;
            Assert.Equal(smooth.Length, ((int[])restored["smooth"]!).Length);
        }
    }
}
