namespace DataraxCkpt.Storage;

/// <summary>
/// An index connection kept by a save from its reservation to its commit (<see cref="Reservation"/>), so
/// a save opens the index once and its last close checkpoints and deletes the write-ahead log once. The
/// directory lock is not held in between, so another process may repair the index meanwhile (move it
/// aside and rename a rebuilt one in): the commit checks the file first and reopens when it was moved. The
/// check looks at the main file only, which is why a repair moves the main file aside before its logs
/// (<c>CheckpointStore.SetIndexAside</c>): killed between the two, it leaves no main file this connection would
/// take for the index while its log lies aside.
/// </summary>
internal sealed partial class StepIndex
{
    /// <summary>
    /// Whether this connection may be kept while the directory lock is released: it is on the index file
    /// itself and SQLite can tell later whether that file was moved (<see cref="Moved"/>). Not on Windows,
    /// whose VFS has no such check.
    /// </summary>
    public bool CanBeKept => _file is not null && !OperatingSystem.IsWindows() && SqliteFileControl.HasMoved(_connection) is false;

    /// <summary>Whether the file under this connection is no longer the one at the index's path (true when it cannot be told).</summary>
    public bool Moved => SqliteFileControl.HasMoved(_connection) is not false;

    /// <summary>
    /// Copies the log into index.sqlite before this connection closes. SQLite does so only at the last close,
    /// and a save keeps its connection open while it writes: every other writer's close would leave its
    /// commit (a step saved, a step removed) in the log alone, and a copy of index.sqlite alone would list
    /// a removed step and miss a saved one. Passive: it waits for nobody, and a connection idle between
    /// its reservation and its commit holds no snapshot that stops it. Not on a moved file (its log is not
    /// the index's), nor where that cannot be told (the last close still checkpoints there).
    /// </summary>
    private void CheckpointBeforeClose()
    {
        if (_file is null || _connection.State != System.Data.ConnectionState.Open || SqliteFileControl.HasMoved(_connection) is not false)
        {
            return;
        }

        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
            command.ExecuteNonQuery();
        }
        catch (Microsoft.Data.Sqlite.SqliteException)
        {
            // Busy (another checkpoint runs) or an I/O error: the commits stay in the log, durable, and
            // the last close or the next checkpoint copies them.
        }
    }
}
