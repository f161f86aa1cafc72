using System.Runtime.ExceptionServices;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// A full listing of a large index read in two halves of its step range at once, on two connections
/// that read one and the same snapshot of the index (issue 17 (d); docs/performance-notes.md, round 31).
/// </summary>
/// <remarks>
/// Stepping SQLite's rows is the whole cost of a listing of 100,000 steps, and one connection steps them on
/// one core. The second half is stepped on a second read-only connection whose read transaction is opened
/// on the first one's snapshot (<c>sqlite3_snapshot_get</c> / <c>sqlite3_snapshot_open</c>, which the
/// bundled e_sqlite3 is built with): both see exactly the same committed state, so a save or prune that
/// commits meanwhile is seen by neither half, never by one of them. The first connection's read
/// transaction stays open until both halves are read, so no checkpoint can restart the log under the
/// snapshot. Wherever the snapshot cannot be shared (no log: the file is not in WAL mode; the log was
/// restarted before the second connection opened it; the file was replaced meanwhile; any other error of
/// the two calls), the first connection reads the whole range itself, still in its one transaction.
/// </remarks>
internal sealed partial class StepIndex
{
    /// <summary>
    /// The span of step numbers (highest minus lowest) from which a full listing is read in two halves. Below,
    /// a listing takes a few milliseconds at most and the second connection's open (reading the schema and the
    /// log's index) and hand-off would be a larger share of it than it saves.
    /// </summary>
    internal const long SplitListingFrom = 8_192;

    /// <summary>Full listings of this process read in two halves so far (tests check that the split was taken).</summary>
    private static long _splitListings;

    /// <summary>How many full listings of this process were read in two halves.</summary>
    internal static long SplitListings => Interlocked.Read(ref _splitListings);

    /// <summary>
    /// Every record, ascending, read on <paramref name="scan"/> (a NOMUTEX read-only connection of this call)
    /// within one read transaction; the upper half of a step span of at least <paramref name="splitFrom"/>
    /// on a second connection in the same snapshot, on another thread, when the machine has a second core.
    /// </summary>
    private List<CheckpointInfo> ListInHalves(sqlite3 scan, CheckpointListingContext context, long splitFrom)
    {
        _ = raw.sqlite3_busy_timeout(scan, 60_000);
        ExecRaw(scan, "BEGIN;");

        // Both bounds by the rowid (each subquery one seek), which also opens the read transaction the snapshot is taken of.
        long lowest = 0, highest = -1;
        using (var bounds = PrepareRaw(scan, "SELECT (SELECT min(step) FROM steps), (SELECT max(step) FROM steps);"))
        {
            var rc = raw.sqlite3_step(bounds);
            if (rc != raw.SQLITE_ROW)
            {
                SqliteException.ThrowExceptionForRC(rc, scan);
            }

            if (raw.sqlite3_column_type(bounds, 0) == raw.SQLITE_INTEGER && raw.sqlite3_column_type(bounds, 1) == raw.SQLITE_INTEGER)
            {
                lowest = raw.sqlite3_column_int64(bounds, 0);
                highest = raw.sqlite3_column_int64(bounds, 1);
            }
        }

        using var upper = Environment.ProcessorCount > 1 && highest >= lowest && (ulong)(highest - lowest) >= (ulong)splitFrom
            ? OpenInSnapshotOf(scan)
            : null;
        if (upper is null)
        {
            return Records(scan, context, long.MinValue, long.MaxValue);
        }

        // The halves split the span of step numbers (gaps in the numbers make them uneven; either half may be empty).
        var middle = lowest + (long)((ulong)(highest - lowest) / 2) + 1;
        Interlocked.Increment(ref _splitListings);
        var half = new UpperHalf(() => Records(upper, context, middle, long.MaxValue));
        ThreadPool.UnsafeQueueUserWorkItem(static h => h.Run(), half, preferLocal: false);
        List<CheckpointInfo> records;
        try
        {
            records = Records(scan, context, long.MinValue, middle - 1);
        }
        finally
        {
            // The upper connection is disposed on return: its half must be over (run here if no thread took it yet).
            half.RunOrWait();
        }

        records.AddRange(half.Result());
        return records;
    }

    /// <summary>
    /// A second scan connection with a read transaction open on the same committed state as <paramref name="scan"/>'s;
    /// null when that cannot be made sure of (the caller then reads everything on <paramref name="scan"/>).
    /// </summary>
    /// <remarks>
    /// SQLite takes no snapshot of a log no transaction was ever written to since it was created (the usual case
    /// here: the last connection to close checkpoints and deletes the log, and a listing opens a fresh one). Then
    /// <paramref name="scan"/> reads the main file alone and, while its read transaction lasts, no checkpoint may
    /// write to that file; the second connection begins its read and checks the log is still unwritten (it still
    /// has no snapshot to take): then no transaction committed in between, and both read the same unchanged file.
    /// A commit in between writes the log first, so the second connection's snapshot exists and the split is not
    /// made.
    /// </remarks>
    private sqlite3? OpenInSnapshotOf(sqlite3 scan)
    {
        if (!IsWal(scan))
        {
            return null;
        }

        var taken = raw.sqlite3_snapshot_get(scan, "main", out var snapshot);
        try
        {
            var second = OpenScanConnection();
            if (second is null)
            {
                return null;
            }

            if (raw.sqlite3_exec(second, "BEGIN;") == raw.SQLITE_OK
                && (taken == raw.SQLITE_OK
                    ? raw.sqlite3_snapshot_open(second, "main", snapshot) == raw.SQLITE_OK
                    : raw.sqlite3_exec(second, "SELECT 1 FROM steps LIMIT 1;") == raw.SQLITE_OK && !HasSnapshot(second)))
            {
                return second;
            }

            second.Dispose();
            return null;
        }
        finally
        {
            snapshot?.Dispose();
        }
    }

    /// <summary>Whether the connection reads its file through a write-ahead log (only then do readers never hold writers back).</summary>
    private static bool IsWal(sqlite3 db)
    {
        using var statement = PrepareRaw(db, "PRAGMA journal_mode;");
        return raw.sqlite3_step(statement) == raw.SQLITE_ROW
            && string.Equals(raw.sqlite3_column_text(statement, 0).utf8_to_string(), "wal", StringComparison.OrdinalIgnoreCase);
    }

    /// <summary>Whether SQLite can take a snapshot of the connection's open read transaction: false while its log was never written.</summary>
    private static bool HasSnapshot(sqlite3 db)
    {
        var rc = raw.sqlite3_snapshot_get(db, "main", out var snapshot);
        snapshot?.Dispose();
        return rc == raw.SQLITE_OK;
    }

    /// <summary>The records of the steps from <paramref name="from"/> to <paramref name="to"/>, ascending, on <paramref name="db"/>.</summary>
    private static List<CheckpointInfo> Records(sqlite3 db, CheckpointListingContext context, long from, long to)
    {
        using var statement = PrepareRaw(db, $"SELECT {ListedColumns} FROM steps WHERE step BETWEEN ?1 AND ?2 ORDER BY step;");
        _ = raw.sqlite3_bind_int64(statement, 1, from);
        _ = raw.sqlite3_bind_int64(statement, 2, to);
        return ReadRecords(db, statement, context, 1024);
    }

    private static void ExecRaw(sqlite3 db, string sql)
    {
        var rc = raw.sqlite3_exec(db, sql);
        if (rc != raw.SQLITE_OK)
        {
            SqliteException.ThrowExceptionForRC(rc, db);
        }
    }

    /// <summary>
    /// The upper half's read, run by whichever thread claims it first: a pool thread, or the listing's own
    /// thread once its half is done (so a busy thread pool delays nothing and can never leave the listing waiting).
    /// </summary>
    private sealed class UpperHalf(Func<List<CheckpointInfo>> read)
    {
        private readonly object _gate = new();
        private bool _claimed;
        private bool _done;
        private List<CheckpointInfo>? _records;
        private ExceptionDispatchInfo? _failure;

        public void Run()
        {
            lock (_gate)
            {
                if (_claimed)
                {
                    return;
                }

                _claimed = true;
            }

            List<CheckpointInfo>? records = null;
            ExceptionDispatchInfo? failure = null;
            try
            {
                records = read();
            }
            catch (Exception e)
            {
                failure = ExceptionDispatchInfo.Capture(e);
            }

            lock (_gate)
            {
                _records = records;
                _failure = failure;
                _done = true;
                Monitor.PulseAll(_gate);
            }
        }

        public void RunOrWait()
        {
            Run();
            lock (_gate)
            {
                while (!_done)
                {
                    Monitor.Wait(_gate);
                }
            }
        }

        /// <summary>The half's records, or its error rethrown on the listing's thread (where the index reports it).</summary>
        public List<CheckpointInfo> Result()
        {
            _failure?.Throw();
            return _records!;
        }
    }
}
