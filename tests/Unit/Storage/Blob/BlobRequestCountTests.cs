using DataraxCkpt.Storage.Blob;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage.Blob;

/// <summary>What each operation costs in requests (requests cost money); docs/object-store.md quotes the printed lines.</summary>
[Collection(AzuriteCollection.Name)]
public sealed class BlobRequestCountTests
{
    [Fact]
    public void Each_operation_sends_a_small_fixed_number_of_requests()
    {
        var location = AzuriteFixture.NewLocation();
        var log = new RequestLog();
        using var handler = BlobTest.Handler(new BlobSettings { TestPolicy = log, CacheDirectory = Path.Combine(Path.GetTempPath(), "dxck-cache-" + Guid.NewGuid().ToString("N")) });
        var counts = new List<(string Operation, int Requests)>();
        int Measure(string operation, Action action)
        {
            log.Requests.Clear();
            action();
            counts.Add((operation, log.Requests.Count));
            Console.WriteLine($"requests: {operation}: {log.Requests.Count} ({string.Join(", ", log.Requests.GroupBy(r => r.Split(' ')[0] + (r.Contains("comp=", StringComparison.Ordinal) ? " " + r[r.IndexOf("comp=", StringComparison.Ordinal)..].Split('&')[0] : string.Empty)).Select(g => $"{g.Key} ×{g.Count()}"))})");
            return log.Requests.Count;
        }

        var small = BlobTest.State(1);
        Measure("first save (small state, new container)", () => handler.Save(location, small, step: 1));
        var save = Measure("save (small state)", () => handler.Save(location, small, step: 2));
        var big = Measure("save (40 MiB incompressible, 8 MiB blocks)", () => handler.Save(location, new Dictionary<string, object?> { ["w"] = RandomBytes(40 << 20) }, step: 3));
        Measure("save with keep: 2 (removes steps 1 and 2)", () => handler.Save(location, small, step: 4, keep: 2));
        var overwrite = Measure("save with overwrite", () => handler.Save(location, small, step: 4, overwrite: true));
        var list = Measure("list (2 steps)", () => handler.ListCheckpoints(location));
        var get = Measure("get one step", () => handler.GetCheckpoint(location, 4));
        using var other = BlobTest.Handler(new BlobSettings { TestPolicy = log, CacheDirectory = Path.Combine(Path.GetTempPath(), "dxck-cache-" + Guid.NewGuid().ToString("N")) });
        var itemsCold = Measure("items (another host, cold cache)", () => other.GetItems(location, 3));
        var itemsWarm = Measure("items (warm cache)", () => other.GetItems(location, 3));
        var restore = Measure("restore latest (small state)", () => handler.Restore(location));
        // 40 MiB incompressible: ten 4 MiB chunks stored raw, two to a ranged GET of 8 MiB (frames end to end).
        var restoreBig = Measure("restore 40 MiB step", () => handler.Restore(location, 3));
        var pin = Measure("pin", () => handler.SetPinned(location, 4, true));
        var remove = Measure("remove (forced, pinned)", () => handler.Remove(location, 4, force: true));
        Measure("verify 40 MiB step", () => handler.Verify(location, 3));

        Assert.InRange(save, 1, 9);
        Assert.InRange(big, 7, 16);
        Assert.InRange(overwrite, 1, 12);
        Assert.Equal(1, list);
        Assert.Equal(1, get);
        Assert.Equal(2, itemsCold);
        Assert.Equal(1, itemsWarm);
        Assert.InRange(restore, 1, 12);
        Assert.InRange(restoreBig, 5, 5 + 3);
        Assert.Equal(2, pin);
        Assert.InRange(remove, 2, 4);
    }

    private static byte[] RandomBytes(int length)
    {
        var bytes = new byte[length];
        new Random(7).NextBytes(bytes);
        return bytes;
    }
}
