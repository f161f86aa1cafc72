using DataraxCkpt.Storage;
using DataraxCkpt.Tests.Support;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Storage;

/// <summary>
/// When SQLite cannot open an index, the open measures its path to say whether it is too deep (StepIndex.OpenOrExplainLength).
/// That measure resolves the path's links, which throws for a loop of links (more than 40): thrown inside the exception
/// filter, it was swallowed, and SQLite's bare "unable to open database file" showed even where the typed path alone was
/// too long for SQLite. The measure no longer throws: the typed path's length explains it; and where no length explains
/// it, SQLite's own error is raised, never the measure's.
/// </summary>
public sealed class OpenIndexLinkLoopTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    /// <summary>A directory at <paramref name="path"/> whose <c>index.sqlite</c> is a link to itself (a loop SQLite gives up on).</summary>
    private static string WithLoopedIndex(string path)
    {
        Directory.CreateDirectory(path);
        File.CreateSymbolicLink(StepIndex.PathOf(path), StepIndex.FileName);
        return path;
    }

    [SkippableFact]
    public void A_too_deep_index_that_is_a_loop_of_links_is_explained_by_its_typed_length()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows, and the explanation is Unix-only");
        var deep = WithLoopedIndex(DeepPath.Of(_dir.Path, StepIndex.LongestSqlitePath - StepIndex.FileName.Length + 10));

        var e = Assert.Throws<PathTooLongException>(() => StepIndex.Open(deep, create: false, upgrade: false).Dispose());

        Assert.Contains($"'{deep}'", e.Message, StringComparison.Ordinal);
        Assert.Contains("too deep for SQLite", e.Message, StringComparison.Ordinal);
        Assert.Equal(14, Assert.IsType<SqliteException>(e.InnerException).SqliteErrorCode);
    }

    [SkippableFact]
    public void A_shallow_index_that_is_a_loop_of_links_fails_with_sqlites_own_error_not_the_measures()
    {
        Skip.If(OperatingSystem.IsWindows(), "symbolic links need privileges on Windows, and the explanation is Unix-only");
        var shallow = WithLoopedIndex(_dir.Sub("ck"));

        var e = Assert.ThrowsAny<Exception>(() => StepIndex.Open(shallow, create: false, upgrade: false).Dispose());

        Assert.Equal(14, Assert.IsType<SqliteException>(e).SqliteErrorCode);
    }
}
