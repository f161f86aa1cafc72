using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// A writer (a save, a prune) that finds an index with no schema version (user_version 0: a creation killed
/// between its first page and its schema commit, or a foreign or emptied file) used to create the schema in it
/// and go on: every step folder beside it unlisted, and no intent left to keep what an interrupted overwrite
/// parked in .trash, so the sweep that follows deleted the only copies of that step (found by the attack on
/// index repair). A writer now sets such an index aside and rebuilds it from the step folders, as repair does.
/// </summary>
public sealed class SchemalessIndexWriterTests : IDisposable
{
    private const int Seed = 11;
    private readonly TempDirectory _dir = new();
    private readonly string _ck;

    public SchemalessIndexWriterTests() => _ck = _dir.Sub("ck");

    public void Dispose() => _dir.Dispose();

    private string IndexPath => Path.Combine(_ck, StepIndex.FileName);

    /// <summary>Replaces the index by a WAL-mode file with no table and version 0.</summary>
    private void FirstPageOnly()
    {
        foreach (var suffix in new[] { string.Empty, "-wal", "-shm" })
        {
            File.Delete(IndexPath + suffix);
        }

        new IndexFile(IndexPath).Execute("PRAGMA journal_mode = WAL;");
    }

    [Fact]
    public void A_save_beside_a_schemaless_index_lists_every_step_folder_again()
    {
        using (var h = new CheckpointHandler())
        {
            foreach (var s in new long[] { 1, 2, 3 })
            {
                h.Save(_ck, new Dictionary<string, object?> { ["n"] = s }, step: s);
            }
        }

        FirstPageOnly();
        using (var h = new CheckpointHandler())
        {
            h.Save(_ck, new Dictionary<string, object?> { ["n"] = 4L }, keep: 2);
            Assert.Equal(new long[] { 3, 4 }, h.GetCheckpointSteps(_ck));
        }

        // The schemaless file is kept aside, as repair keeps a damaged index.
        Assert.Single(Directory.GetFiles(_ck, "index.sqlite.damaged-*"), f => !f.EndsWith("-wal", StringComparison.Ordinal) && !f.EndsWith("-shm", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("save", false)]
    [InlineData("prune", false)]
    [InlineData("repair", false)]
    [InlineData("repair", true)]
    public void A_writer_beside_a_schemaless_or_missing_index_never_sweeps_the_version_an_interrupted_overwrite_parked(string writer, bool missing)
    {
        using (var h = PortableOverwriteTests.Handler(true))
        {
            h.Save(_ck, HarnessState.Create(1, Seed, 2), step: 1);
            h.Save(_ck, HarnessState.Create(2, Seed, 2), step: 2);
        }

        // Killed between the two renames: step 2's old version parked in .trash, its new one still staged.
        Assert.Equal(Harness.Killed, Harness.Run("publish.rename@2", PortableOverwriteTests.HarnessArgs(true, "overwrite", _ck, "2", "99", "4")).ExitCode);
        Assert.False(Directory.Exists(Path.Combine(_ck, "2")), "the harness did not stop between the two renames");
        FirstPageOnly();
        if (missing)
        {
            File.Delete(IndexPath);
        }

        using (var h = PortableOverwriteTests.Handler(true))
        {
            switch (writer)
            {
                case "save":
                    h.Save(_ck, HarnessState.Create(5, Seed, 1), step: 5);
                    break;
                case "prune":
                    h.Prune(_ck, new RetentionPolicy { Keep = 10 });
                    break;
                default:
                    h.RepairIndex(_ck);
                    break;
            }

            Assert.Equal(writer == "save" ? new long[] { 1, 2, 5 } : new long[] { 1, 2 }, h.GetCheckpointSteps(_ck));
            var restored = (Dictionary<string, object?>)h.Restore(_ck, 2)!;
            // The parked old version or the staged new one: either is a whole step 2.
            static string Keys(IEnumerable<string> keys) => string.Join(",", keys.Order(StringComparer.Ordinal));
            var got = Keys(restored.Keys);
            Assert.True(got == Keys(HarnessState.Create(2, Seed, 2).Keys) || got == Keys(HarnessState.Create(2, 99, 4).Keys), $"step 2 restores neither version: {got}");
        }
    }
}
