namespace DataraxCkpt.Storage;

/// <summary>
/// Test seam: opens the engine makes fail as they would in a directory that may only be read, whoever
/// runs the tests (root ignores file modes, and not every machine may mount file systems).
/// </summary>
internal enum SimulatedDenial
{
    /// <summary>No simulation: the real file system answers.</summary>
    None,

    /// <summary>Every open that creates or writes fails with EROFS, as on a read-only mount.</summary>
    ReadOnlyFileSystem,

    /// <summary>Every open that creates or writes fails with EACCES, as in a directory the user may only read.</summary>
    AccessDenied,

    /// <summary>Opening <c>.lock</c> at all fails with EACCES, as for a lock file the user may not read.</summary>
    LockFileUnreadable,
}
