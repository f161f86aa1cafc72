namespace DataraxCkpt.Storage;

/// <summary>
/// An index connection kept by a save from its reservation to its commit (<see cref="Reservation"/>), so
/// a save opens the index once and its last close checkpoints and deletes the write-ahead log once. The
/// directory lock is not held in between, so another process may repair the index meanwhile (move it
/// aside and rename a rebuilt one in): the commit checks the file first and reopens when it was moved.
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
}
