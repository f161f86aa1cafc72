using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using DataraxCkpt.Values;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Attacks;

/// <summary>
/// A save keeps its index connection from its reservation to its commit, so while it writes, every other
/// writer's close is no longer the last one and SQLite skips the checkpoint there. index.sqlite alone must
/// still be the whole index once a save or a removal returns: a copy of it without its log lists every
/// step saved and none removed.
/// </summary>
public sealed class KeptIndexCopyAttackTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public KeptIndexCopyAttackTests() => _ck = Path.GetFullPath(_dir.Sub("ck"));

    public void Dispose() => _dir.Dispose();

    private static Dictionary<string, object?> State(long n) => new() { ["n"] = n };

    /// <summary>The steps a copy of index.sqlite alone (no -wal, no -shm) lists.</summary>
    private List<long> StepsInACopyOfTheIndexAlone(string name)
    {
        var folder = _dir.Sub(name);
        Directory.CreateDirectory(folder);
        var copy = Path.Combine(folder, StepIndex.FileName);
        File.Copy(Path.Combine(_ck, StepIndex.FileName), copy);
        var steps = new List<long>();
        using (var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = copy, Pooling = false }.ToString()))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = "SELECT step FROM steps ORDER BY step;";
            using var r = cmd.ExecuteReader();
            while (r.Read())
            {
                steps.Add(r.GetInt64(0));
            }
        }

        SqliteConnection.ClearAllPools();
        return steps;
    }

    [Fact]
    public void A_copy_of_the_index_alone_lists_a_step_saved_and_omits_a_step_removed_while_another_save_writes()
    {
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, State(1), step: 1);
        }

        var store = new CheckpointStore(_ck, new CheckpointOptions());
        var state = StateEncoder.Encode(State(2), null);
        var reservation = store.Reserve(2, overwrite: false);
        try
        {
            using (var h = new CheckpointHandler())
            {
                h.Save(_ck, State(3), step: 3);
                h.Remove(_ck, 1);
            }

            Assert.Equal(new long[] { 3 }, StepsInACopyOfTheIndexAlone("during"));
            store.Complete(reservation, state, keep: null, onBytesWritten: null);
        }
        finally
        {
            reservation.Dispose();
            state.Release();
        }

        Assert.Equal(new long[] { 2, 3 }, StepsInACopyOfTheIndexAlone("after"));
    }
}
