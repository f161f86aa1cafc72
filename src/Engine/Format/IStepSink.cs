using System.Buffers;

namespace DataraxCkpt.Format;

/// <summary>
/// Where the writer puts a step's two files (data and manifest) before they are committed: a local staging
/// folder, or blobs named for one save. The writer's one way to store bytes.
/// </summary>
internal interface IStepSink
{
    /// <summary>Creates a new file of the step for writing.</summary>
    Stream CreateFile(string name, int bufferSize);

    /// <summary>
    /// Appends the first <paramref name="length"/> bytes of <paramref name="buffer"/>, rented from
    /// <paramref name="pool"/>, to <paramref name="file"/> and takes the buffer: it goes back to the pool once
    /// written (also when this throws), so the caller must not touch it again. A local file writes it at once; an
    /// upload keeps it until the blocks holding it are sent, instead of copying it into a block buffer.
    /// </summary>
    void WriteRented(Stream file, byte[] buffer, int length, ArrayPool<byte> pool)
    {
        try
        {
            file.Write(buffer, 0, length);
        }
        finally
        {
            pool.Return(buffer);
        }
    }

    /// <summary>Makes everything written to <paramref name="file"/> durable (fsync; a blob's block list committed).</summary>
    void Seal(Stream file);

    /// <summary>
    /// Starts <see cref="Seal"/> of <paramref name="file"/> so that the writer can build and write the step's
    /// other file meanwhile; the file is durable when the task completes, and the caller waits for it before
    /// the folder is synced (nothing is published before). The caller must not touch the file until then. By
    /// default the seal runs at once on the calling thread (a blob's block list commit keeps its order).
    /// </summary>
    Task StartSeal(Stream file)
    {
        Seal(file);
        return Task.CompletedTask;
    }

    /// <summary>
    /// Called once every file of the step has been created, before the last one is written and sealed: a sink
    /// whose names are made durable apart from the files' contents (a folder fsync) may start that here, so that
    /// it overlaps the rest of the write instead of following it; <see cref="SyncFolder"/> then waits for it. By
    /// default nothing starts early (a blob's commit must follow its seals).
    /// </summary>
    void StartFolderSync()
    {
    }

    /// <summary>
    /// Makes the files' names durable (a folder fsync; nothing for blobs), or waits for what
    /// <see cref="StartFolderSync"/> started; when it returns, the step may be published.
    /// </summary>
    void SyncFolder();
}
