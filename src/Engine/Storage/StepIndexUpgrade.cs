using System.Globalization;
using DataraxCkpt.Faults;
using Microsoft.Data.Sqlite;
using SQLitePCL;

namespace DataraxCkpt.Storage;

/// <summary>The upgrade of a version-1 index (a row per leaf) or a version-2 index (layout-1 blobs) to version 3, and the check of the blobs.</summary>
internal sealed partial class StepIndex
{
    /// <summary>
    /// Turns every step's item rows into its item list (layout 2), drops the <c>items</c> table and sets
    /// <c>user_version</c> to 3, all in one SQLite transaction: a crash (or an error) at any point leaves
    /// the version-1 index exactly as it was, and the next writer upgrades it again. The transaction is
    /// begun immediately (it takes SQLite's write lock first), and the version is read again under it,
    /// so two processes upgrading at once upgrade once. Rows that do not read (a non-text name, an
    /// item count the rows do not match) are damage: the error tells the user to run
    /// Repair-CheckpointIndex, which rebuilds the index from the step folders.
    /// </summary>
    private void Upgrade()
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        var version = Convert.ToInt64(Scalar("PRAGMA user_version;", tx), CultureInfo.InvariantCulture);
        if (version != RowPerItemVersion)
        {
            // Another process upgraded it between our first look and the lock.
            _version = version <= SchemaVersion ? (int)version
                : throw RefuseNewer(_directory, version, SchemaVersion);
            return;
        }

        // A version-1 index has no step_items table; one found here (a hand edit, or two engine versions
        // creating a fresh remote-store cache at once) holds nothing this index stands behind.
        Execute("DROP TABLE IF EXISTS step_items; CREATE TABLE step_items(step INTEGER PRIMARY KEY, items BLOB NOT NULL);", tx);
        using (var put = Command("INSERT INTO step_items(step, items) VALUES ($s, $items);", tx))
        using (var read = Command("""
            SELECT s.step, s.item_count, i.name, i.kind, i.dtype, i.shape, i.size, i.stored_size
            FROM steps s LEFT JOIN items i ON i.step = s.step ORDER BY s.step, i.ordinal;
            """, tx))
        {
            var pStep = put.Parameters.Add("$s", SqliteType.Integer);
            var pItems = put.Parameters.Add("$items", SqliteType.Blob);
            using var r = read.ExecuteReader();
            long? step = null;
            long expected = 0;
            ItemListCodec.Writer? writer = null;
            void Flush()
            {
                if (writer!.Count != expected)
                {
                    throw new FormatException($"step {step} has an item count of {expected} but {writer.Count} item rows");
                }

                pStep.Value = step;
                pItems.Value = writer.ToArray();
                put.ExecuteNonQuery();
            }

            while (r.Read())
            {
                var rowStep = r.GetInt64(0);
                if (rowStep != step)
                {
                    if (step is not null)
                    {
                        Flush();
                    }

                    step = rowStep;
                    expected = r.GetInt64(1);
                    writer = new ItemListCodec.Writer((int)Math.Clamp(expected, 0, 1_000_000));
                }

                if (r.IsDBNull(2) && r.IsDBNull(3))
                {
                    // The LEFT JOIN's row of a step without leaves.
                    continue;
                }

                writer!.Add(Text(r, 2, rowStep, "name")!, Text(r, 3, rowStep, "kind")!, Text(r, 4, rowStep, null),
                    Text(r, 5, rowStep, null) is { } shape ? ParseShape(shape) : null, Integer(r, 6, rowStep), Integer(r, 7, rowStep));
            }

            if (step is not null)
            {
                Flush();
            }
        }

        // The step-number index is not added here but by the same open right after this commits (AddStepNumberIndex), in a
        // transaction of its own: a name taken by a table made by hand, or a disk too full for it, must not stop the
        // upgrade, which every write of an old store needs.
        Execute("DROP TABLE items;", tx);
        Execute($"PRAGMA user_version = {SchemaVersion};", tx);
        FaultInjector.Hit("index.upgrade.before-commit");
        tx.Commit();
        _version = SchemaVersion;
    }

    /// <summary>
    /// Upgrades a version-2 index to version 3: its layout-1 lists stay valid in version 3, so only
    /// <c>user_version</c> changes, in one transaction that takes SQLite's write lock first and reads the
    /// version again under it (another process may have upgraded it since the open). Before the commit the
    /// index is the version-2 index it was, which an older engine still reads and writes; after it, older
    /// engines refuse it as a newer format (docs/format.md §4).
    /// </summary>
    private void UpgradeToLayout2()
    {
        using var tx = _connection.BeginTransaction(deferred: false);
        var version = Convert.ToInt64(Scalar("PRAGMA user_version;", tx), CultureInfo.InvariantCulture);
        if (version != RowLayoutVersion)
        {
            _version = version == SchemaVersion ? SchemaVersion
                : version > SchemaVersion ? throw RefuseNewer(_directory, version, SchemaVersion)
                : throw new CorruptCheckpointException(_directory, null, FileName, $"the index's schema version changed from {RowLayoutVersion} to {version} while it was opened; run Repair-CheckpointIndex to rebuild it from the step folders");
            return;
        }

        Execute($"PRAGMA user_version = {SchemaVersion};", tx);
        FaultInjector.Hit("index.upgrade.before-commit");
        tx.Commit();
        _version = SchemaVersion;
    }

    /// <summary>
    /// Throws <see cref="CorruptCheckpointException"/> when the tables of schema <paramref name="version"/>
    /// are not all there (a <c>user_version</c> set by hand or a torn copy): every later statement would
    /// otherwise fail with SQLite's "no such table", which Repair-CheckpointIndex does not treat as damage.
    /// </summary>
    private void RequireTables(long version)
    {
        var itemTable = version == RowPerItemVersion ? "items" : "step_items";
        var found = Convert.ToInt64(Scalar($"SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('steps', 'intents', '{itemTable}');"),
            CultureInfo.InvariantCulture);
        if (found != 3)
        {
            throw new CorruptCheckpointException(_directory, null, FileName,
                $"the index of schema version {version} lacks its steps, intents or {itemTable} table; run Repair-CheckpointIndex to rebuild it from the step folders");
        }
    }

    /// <summary>A text column of a version-1 item row; <paramref name="required"/> names a column that may not be NULL.</summary>
    private static string? Text(SqliteDataReader r, int column, long step, string? required) =>
        r.IsDBNull(column) ? (required is null ? null : throw new FormatException($"an item of step {step} has no {required}"))
        : r.GetFieldType(column) == typeof(string) ? r.GetString(column)
        : throw new FormatException($"an item of step {step} holds a non-text name, kind, dtype or shape");

    private static long Integer(SqliteDataReader r, int column, long step) =>
        !r.IsDBNull(column) && r.GetFieldType(column) == typeof(long) ? r.GetInt64(column)
        : throw new FormatException($"an item of step {step} holds a non-integer size");

    /// <summary>
    /// Adds to <paramref name="problems"/> every step whose item list is missing, fails its checksum or
    /// holds another count than the step's: SQLite's own check cannot see inside a blob, and Repair
    /// rebuilds the index only when this check reports damage.
    /// </summary>
    private void CheckItemLists(List<string> problems)
    {
        var db = _connection.Handle!;
        var statement = PrepareRaw(db, "SELECT s.step, s.item_count, i.items FROM steps s LEFT JOIN step_items i ON i.step = s.step;");
        int rc;

        using (statement)
        {
            while ((rc = raw.sqlite3_step(statement)) == raw.SQLITE_ROW)
            {
                var step = raw.sqlite3_column_int64(statement, 0);
                var count = raw.sqlite3_column_int64(statement, 1);
                try
                {
                    if (count is < 0 or > int.MaxValue || raw.sqlite3_column_type(statement, 2) != raw.SQLITE_BLOB)
                    {
                        throw new FormatException($"step {step} has no item list or an item count of {count}");
                    }

                    ItemListCodec.Check(step, raw.sqlite3_column_blob(statement, 2), (int)count);
                }
                catch (FormatException e)
                {
                    problems.Add(e.Message);
                }
            }

            if (rc != raw.SQLITE_DONE)
            {
                SqliteReadFailure.Throw(rc, db);
            }
        }
    }
}
