using System.Runtime.ExceptionServices;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>
/// A full listing of a large index read from both ends at once, on two connections that read one and the
/// same committed state of the index (issue 17 (d); docs/performance-notes.md, round 31 (session 11, list2)).
/// </summary>
/// <remarks>
/// Stepping SQLite's rows is the whole cost of a listing of 100,000 steps, and one connection steps them on
/// one core. Once the listing's connection has read <see cref="SplitListingFrom"/> rows, a second read-only
/// connection, on a pool thread, steps the rows from the highest step down, its read transaction opened on the
/// first one's snapshot (<c>sqlite3_snapshot_get</c> / <c>sqlite3_snapshot_open</c>, which the bundled
/// e_sqlite3 is built with), or on a log nothing was written to since the first one began (below). Both see
/// exactly the same committed state, so a save or prune that commits meanwhile is seen by neither, never by
/// one of them. The two stop where their rows meet, wherever the gaps in the step numbers put that, and the
/// first connection's read transaction stays open until both are done, so no checkpoint can restart the log
/// under the snapshot. Wherever the state cannot be shared (the file is not in WAL mode, the log was written
/// or restarted in between, the file was replaced, any error of the two calls), the first connection reads
/// every row itself, in its one transaction.
/// </remarks>
internal sealed partial class StepIndex
{
    /// <summary>
    /// The rows a full listing reads on one connection before a second one starts from the other end. A store
    /// with fewer is listed in about a millisecond, less than the second connection's open (reading the schema
    /// and the log's index) and hand-off would save.
    /// </summary>
    internal const long SplitListingFrom = 4_096;

    /// <summary>Full listings of this process that started a second connection so far (tests check that the split was taken).</summary>
    private static long _splitListings;

    /// <summary>Run on the pool thread right before a full listing's second connection opens (tests replace the index file there).</summary>
    internal Action? BeforeSecondConnectionOpens { get; set; }

    /// <summary>How many full listings of this process started a second connection.</summary>
    internal static long SplitListings => Interlocked.Read(ref _splitListings);

    /// <summary>
    /// Every record, ascending, read on <paramref name="scan"/> (a NOMUTEX read-only connection of this call)
    /// within one read transaction; from <paramref name="splitFrom"/> rows on, the rows from the top down on a
    /// second connection in the same state, on another thread, when the machine has a second core.
    /// </summary>
    private List<CheckpointInfo> ListInHalves(sqlite3 scan, CheckpointListingContext context, long splitFrom)
    {
        // The connection's busy timeout was set where it was opened (OpenScanConnection).
        var rc = raw.sqlite3_exec(scan, "BEGIN;");
        if (rc != raw.SQLITE_OK)
        {
            SqliteReadFailure.Throw(rc, scan);
        }

        var meeting = new Meeting(splitFrom);
        if (Environment.ProcessorCount > 1)
        {
            meeting.StartWith(() => StartFromTop(scan, context));
        }

        List<CheckpointInfo> records;
        try
        {
            using var statement = PrepareRaw(scan, $"SELECT {ListedColumns} FROM steps ORDER BY step;");
            records = ReadRecords(scan, statement, context, 1024, meeting);
        }
        finally
        {
            // The second connection is used by its thread until its rows end: this connection's transaction must outlast it.
            meeting.Finish();
        }

        var fromTop = meeting.FromTop();
        if (fromTop.Count > 0 && !IsAtPath(scan))
        {
            // The second connection checked its own file on its thread; this one's is checked here, on the thread that
            // owns it (a NOMUTEX connection), after the other began: a file renamed over the path in between (Repair)
            // means the top's rows may be another file's. They are dropped, and this connection reads the rest of its own.
            fromTop = [];
            var above = records.Count > 0 ? " WHERE step > ?1" : string.Empty;
            using var rest = PrepareRaw(scan, $"SELECT {ListedColumns} FROM steps{above} ORDER BY step;");
            if (records.Count > 0)
            {
                _ = raw.sqlite3_bind_int64(rest, 1, records[^1].Step);
            }

            records.AddRange(ReadRecords(scan, rest, context, 1024));
        }

        // The rows from the top, descending: those above the last one read here, ascending.
        // (Every row of the top's when the bottom took none: a row at long.MinValue is above no row read here.)
        var any = records.Count > 0;
        var highest = any ? records[^1].Step : long.MinValue;
        for (var i = fromTop.Count - 1; i >= 0; i--)
        {
            if (!any || fromTop[i].Step > highest)
            {
                records.Add(fromTop[i]);
            }
        }

        return records;

        // On the listing's thread, with its statement between two rows: the state to share is taken here, the rest runs on the pool.
        Func<List<CheckpointInfo>>? StartFromTop(sqlite3 first, CheckpointListingContext listing)
        {
            if (!IsWal(first))
            {
                return null;
            }

            var taken = raw.sqlite3_snapshot_get(first, "main", out var snapshot);
            if (taken == raw.SQLITE_OK)
            {
                meeting.Hold(snapshot);
            }

            Interlocked.Increment(ref _splitListings);
            return () =>
            {
                BeforeSecondConnectionOpens?.Invoke();
                using var second = OpenSecondInStateOf(taken == raw.SQLITE_OK ? snapshot : null);
                if (second is null)
                {
                    return [];
                }

                using var statement = PrepareRaw(second, $"SELECT {ListedColumns} FROM steps ORDER BY step DESC;");
                return ReadRecords(second, statement, listing, 1024, meeting, fromTop: true);
            };
        }
    }

    /// <summary>
    /// A second scan connection with a read transaction open on the same committed state as the listing's
    /// first connection: on its <paramref name="snapshot"/>, or, when SQLite had none to take, on the same
    /// never-written log. Null when neither holds (the first connection then reads every row). Disposes the snapshot.
    /// </summary>
    /// <remarks>
    /// SQLite takes no snapshot of a log no transaction was ever written to since it was created (the usual case
    /// here: the last connection to close checkpoints and deletes the log, and a listing opens a fresh one). The
    /// first connection then reads the main file alone and, while its read transaction lasts, no checkpoint may
    /// write to that file; the second connection begins its read and checks that the log is still unwritten (it
    /// has no snapshot to take either): then no transaction committed in between, and both read the same file.
    /// A commit in between writes the log first, so the second connection has a snapshot and is not used. A file
    /// renamed over the path in between (a repair's rebuilt index) has an unwritten log too: both connections
    /// must still have the file the path names (<see cref="IsAtPath"/>).
    /// </remarks>
    internal sqlite3? OpenInStateOf(sqlite3 first, sqlite3_snapshot? snapshot)
    {
        var second = OpenSecondInStateOf(snapshot);
        if (second is not null && !IsAtPath(first))
        {
            second.Dispose();
            return null;
        }

        return second;
    }

    /// <summary>
    /// <see cref="OpenInStateOf"/> without the first connection's own check, for the pool thread: the first
    /// connection is opened without SQLite's mutex and is stepped by the listing's thread meanwhile, so only that
    /// thread may ask it whether its file moved, after this returned (found by the final review).
    /// </summary>
    private sqlite3? OpenSecondInStateOf(sqlite3_snapshot? snapshot)
    {
        using (snapshot)
        {
            var second = OpenScanConnection();
            if (second is null)
            {
                return null;
            }

            if (raw.sqlite3_exec(second, "BEGIN;") == raw.SQLITE_OK
                && (snapshot is not null
                    ? raw.sqlite3_snapshot_open(second, "main", snapshot) == raw.SQLITE_OK
                    : raw.sqlite3_exec(second, "SELECT 1 FROM steps LIMIT 1;") == raw.SQLITE_OK && !HasSnapshot(second))
                && IsAtPath(second))
            {
                return second;
            }

            second.Dispose();
            return null;
        }
    }

    /// <summary>
    /// Whether the connection's open file is still the one the index's path names (found by the attack on the
    /// split listing): the second connection opens the path anew, and a file renamed over it (Repair renames a
    /// rebuilt index in, its log unwritten too) would otherwise be read as the first one's state. Checked once
    /// both read transactions began: both files are then the one at the path, so the same file. Where SQLite
    /// cannot tell, no: except on Windows, where a file SQLite holds open cannot be renamed over.
    /// </summary>
    private static bool IsAtPath(sqlite3 db) => SqliteFileControl.HasMoved(db) switch
    {
        false => true,
        true => false,
        null => OperatingSystem.IsWindows(),
    };

    /// <summary>Whether the connection reads its file through a write-ahead log (only then do readers never hold writers back).</summary>
    private bool IsWal(sqlite3 db)
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

    /// <summary>
    /// Where the rows read from the bottom (the listing's thread) and from the top (a pool thread) meet. Each end
    /// publishes the last step it took and stops at the first row the other end already passed: every row is
    /// taken by at least one end (a row both took at the same moment is dropped from the top's list when merged).
    /// </summary>
    private sealed class Meeting(long startAt)
    {
        private readonly object _gate = new();
        private long _low = long.MinValue;
        private long _high = long.MaxValue;

        // Whether each end took a row yet: until then its bound is no row at all, not long.MinValue/MaxValue,
        // which are steps a row can have (a row at long.MaxValue was otherwise never taken by the bottom's end).
        private bool _lowTaken;
        private bool _highTaken;
        private Func<Func<List<CheckpointInfo>>?>? _start;
        private Func<List<CheckpointInfo>>? _fromTop;
        private bool _claimed;
        private bool _done = true;
        private List<CheckpointInfo>? _records;
        private ExceptionDispatchInfo? _failure;
        private IDisposable? _held;

        /// <summary>
        /// What the top's read owns until it runs (the snapshot it opens on): freed by <see cref="Finish"/> when no
        /// pool thread took the read up, instead of waiting for a finalizer (found by the attack on the split listing).
        /// </summary>
        public void Hold(IDisposable held) => _held = held;

        /// <summary>What the bottom's end calls at its <c>startAt</c>-th row: the top's read, or null when it cannot be shared.</summary>
        public void StartWith(Func<Func<List<CheckpointInfo>>?> start) => _start = start;

        /// <summary>Whether the end's next row, <paramref name="step"/>, is still its to take (it was not passed by the other end).</summary>
        public bool Take(long step, bool fromTop, int taken)
        {
            if (fromTop)
            {
                if (Volatile.Read(ref _lowTaken) && step <= Volatile.Read(ref _low))
                {
                    return false;
                }

                Volatile.Write(ref _high, step);
                Volatile.Write(ref _highTaken, true);
                return true;
            }

            if (taken == startAt && _start is { } start)
            {
                _start = null;
                Begin(start());
            }

            if (Volatile.Read(ref _highTaken) && step >= Volatile.Read(ref _high))
            {
                return false;
            }

            Volatile.Write(ref _low, step);
            Volatile.Write(ref _lowTaken, true);
            return true;
        }

        private void Begin(Func<List<CheckpointInfo>>? fromTop)
        {
            if (fromTop is null)
            {
                return;
            }

            _fromTop = fromTop;
            _done = false;
            ThreadPool.UnsafeQueueUserWorkItem(static m => m.Run(), this, preferLocal: false);
        }

        private void Run()
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
                records = _fromTop!();
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

        /// <summary>
        /// Waits for the top's rows to end. When no pool thread took them up yet, they are not read at all: the
        /// bottom's rows never stopped (nothing from the top was taken), so they are every row.
        /// </summary>
        public void Finish()
        {
            lock (_gate)
            {
                if (!_claimed)
                {
                    _claimed = true;
                    _done = true;
                    _held?.Dispose();
                }

                while (!_done)
                {
                    Monitor.Wait(_gate);
                }
            }
        }

        /// <summary>The rows taken from the top, descending, or that end's error, rethrown on the listing's thread (where the index reports it).</summary>
        public List<CheckpointInfo> FromTop()
        {
            _failure?.Throw();
            return _records ?? [];
        }
    }
}
