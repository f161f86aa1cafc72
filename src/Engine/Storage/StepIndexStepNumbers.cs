using System.Globalization;
using DataraxCkpt.Faults;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>The index of step numbers alone (<c>steps_by_step</c>), which lists a store's steps without reading its rows.</summary>
internal sealed partial class StepIndex
{
    /// <summary>The name of the SQLite index on <c>steps(step)</c> (docs/format.md §3).</summary>
    internal const string StepNumberIndex = "steps_by_step";

    /// <summary>
    /// Creates the step-number index. A <c>steps</c> row carries its metadata, save id and hash (about 150 bytes at
    /// 100,000 steps, 15 MB in all); this b-tree holds the step numbers only (about 1 MB), so listing them reads far
    /// fewer pages (the count measured is in docs/format.md §3 and round 45 of docs/performance-notes.md). SQLite keeps it in step with the table on every write, an older engine's included.
    /// </summary>
    private const string StepNumberIndexSql = "CREATE INDEX IF NOT EXISTS " + StepNumberIndex + " ON steps(step);";

    /// <summary>
    /// Every step number, ascending. Not bound to the index by name (no <c>INDEXED BY</c>): SQLite scans
    /// <see cref="StepNumberIndex"/> as a covering index where it exists, being narrower than the table, and the table
    /// itself in an index written before it (opened read-only, immutable or in a dry run, which add nothing).
    /// </summary>
    internal const string StepNumbersSql = "SELECT step FROM steps ORDER BY step;";

    /// <summary>
    /// Every step number, ascending, a row at a time by the statement's raw pointer (<see cref="SqliteColumns"/>). One
    /// row of all the numbers joined by <c>group_concat</c> (and parsed back) cost more per step the more steps there
    /// were: SQLite builds that text by repeated reallocation, 590 KB at 100,000 steps, past the processor's caches
    /// (docs/performance-notes.md, round 45).
    /// </summary>
    public List<long> Steps() => Guard(() =>
    {
        var steps = new List<long>();
        var db = _connection.Handle!;
        using var statement = PrepareRaw(db, StepNumbersSql);
        var pointer = SqliteColumns.Pointer(statement);
        int rc;
        while ((rc = SqliteColumns.Step(pointer, statement)) == raw.SQLITE_ROW)
        {
            // The rowid: always an integer, but a hand-edited row can hold a negative one, which no save writes
            // (steps are >= 0) and which the listing refused as damage when it parsed the numbers as text.
            var step = SqliteColumns.Int64(pointer, statement, 0);
            if (step < 0)
            {
                throw new FormatException($"the index lists step {step.ToString(CultureInfo.InvariantCulture)}, and steps are never negative");
            }

            steps.Add(step);
        }

        if (rc != raw.SQLITE_DONE)
        {
            SqliteReadFailure.Throw(rc, db);
        }

        return steps;
    });

    /// <summary>
    /// Adds <see cref="StepNumberIndex"/> to a version-2 index written before it existed, in a transaction of its own,
    /// begun immediately so that two writers opening at once build it once. Nothing changes for a reader: the schema
    /// version stays 2, and an older engine reads and writes the index as before (SQLite maintains the index for it).
    /// </summary>
    /// <remarks>
    /// The index only speeds a listing up, so nothing is refused for want of it: where its name is taken by another
    /// schema object (a table or view made by hand, which CREATE INDEX would refuse with an error no repair clears:
    /// repair finds such an index sound), or where its write fails for want of space or with an I/O error (SQLITE_FULL,
    /// or SQLITE_IOERR, which a disk over its quota gives: either would fail the very prune or removal run to free space),
    /// the open goes on without it; the query then scans <c>steps</c>, and a later writer adds it once the name or space
    /// is free. Any other failure (damage, a denial) fails the open, as it would fail the write that follows.
    /// </remarks>
    private void AddStepNumberIndex()
    {
        if (StepNumberIndexNameTaken())
        {
            return;
        }

        try
        {
            using var tx = _connection.BeginTransaction(deferred: false);
            Execute(StepNumberIndexSql, tx);
            FaultInjector.Hit("index.step-number-index.before-commit");
            tx.Commit();
        }
        catch (SqliteException e) when ((e.SqliteErrorCode & 0xFF) is raw.SQLITE_FULL or raw.SQLITE_IOERR)
        {
            // Rolled back (by SQLite or the transaction's disposal): the index is as it was, without steps_by_step.
            // SQLITE_IOERR too: a disk over its quota fails the write with EDQUOT, which SQLite reports as an I/O error
            // (IOERR_WRITE, IOERR_FSYNC), not as SQLITE_FULL. Any other error (damage, a denial) fails the open.
            if ((e.SqliteErrorCode & 0xFF) == raw.SQLITE_IOERR)
            {
                ForgetFailedCall();
            }
        }
    }

    /// <summary>
    /// Reopens the connection after an I/O error it goes on from: SQLite keeps the failed call's errno on the file (and
    /// its write-ahead log) until another call fails, never clearing it, so damage read later by the same connection
    /// would read as a read the disk failed (<see cref="SqliteReadFailure"/>) and be refused as one instead of repaired.
    /// A new connection's files start with none. (SQLITE_FULL needs none: SQLite clears the errno of a write it fails so.)
    /// </summary>
    private void ForgetFailedCall()
    {
        _connection.Close();
        _connection.Open();
        ApplyBusyTimeout();
    }

    /// <summary>Whether any schema object (the step-number index, or a table or view made by hand) has the name <see cref="StepNumberIndex"/>.</summary>
    private bool StepNumberIndexNameTaken() =>
        Convert.ToInt64(Scalar($"SELECT count(*) FROM sqlite_master WHERE name = '{StepNumberIndex}' COLLATE NOCASE;"), CultureInfo.InvariantCulture) > 0;

    /// <summary>Whether <see cref="StepNumberIndex"/> exists (reads the schema table only).</summary>
    internal bool HasStepNumberIndex() => Guard(() =>
        Convert.ToInt64(Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = '{StepNumberIndex}';"), CultureInfo.InvariantCulture) == 1);
}
