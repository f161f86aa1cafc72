using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Reliability;
using DataraxCkpt.Tests.Reliability.CrashStates;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// Session 21 attack: a forced repair (and its dry run) while every lstat of a live index.sqlite fails with EIO (strace).
/// The index stays where it is (IndexFileExists raises); what the user is told must say so, not that it was set aside.
/// </summary>
[Collection(HeavyReliabilityCollection.Name)]
public sealed class Attack21IndexLookForcedTests : IDisposable
{
    private readonly TempDirectory _dir = new();
    private readonly string _ck;
    private readonly string _index;

    public Attack21IndexLookForcedTests()
    {
        _ck = Path.GetFullPath(_dir.Sub("ck"));
        _index = Path.Combine(_ck, StepIndex.FileName);
        using (var h = new CheckpointHandler())
        {
            for (var step = 1; step <= 2; step++)
            {
                h.Save(_ck, HarnessState.Create(step, 21, 2, 64), step: step);
            }
        }

        SqliteConnection.ClearAllPools();
    }

    public void Dispose() => _dir.Dispose();

    [StraceTheory]
    [InlineData("repair-force")]
    public void A_forced_repair_whose_look_at_the_index_fails_never_says_the_index_was_set_aside_when_it_is_still_there(string command)
    {
        var (code, output) = InjectedErrno.Run("lstat", "EIO", "1+", _index, command, _ck);

        Assert.True(File.Exists(_index), output);
        Assert.DoesNotContain("already set aside", output, StringComparison.Ordinal);
        Assert.DoesNotContain("has no index now", output, StringComparison.Ordinal);
        Assert.DoesNotContain(Directory.GetFiles(_ck), f => Path.GetFileName(f).Contains(".unreadable-", StringComparison.Ordinal));
        _ = code;
    }

    [StraceTheory]
    [InlineData("repair-force-dry")]
    public void A_forced_dry_run_whose_look_at_the_index_fails_does_not_report_the_index_as_missing(string command)
    {
        var before = Directory.GetFiles(_ck, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => (f, File.ReadAllBytes(f))).ToList();
        var (code, output) = InjectedErrno.Run("lstat", "EIO", "1+", _index, command, _ck);

        var after = Directory.GetFiles(_ck, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal)
            .Select(f => (f, File.ReadAllBytes(f))).ToList();
        Assert.Equal(before.Select(b => b.f), after.Select(a => a.f));
        Assert.All(before.Zip(after), p => Assert.Equal(p.First.Item2, p.Second.Item2));
        // The real run stops on (or sets aside) an index it cannot look at: the dry run must say the index could not be
        // read, not reconcile as though there were no index at all.
        Assert.True(code != 0 || output.Contains("could not be read", StringComparison.Ordinal), $"exit {code}: {output}");
    }
}
