using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Reliability.CrashStates;

/// <summary>
/// Another process reading the index while the traced operation runs: an open SQLite connection in
/// WAL mode keeps a shared lock on <c>index.sqlite</c>, so the writer's last close neither checkpoints
/// nor deletes <c>index.sqlite-wal</c>, and the next writer does not create it again. SQLite fsyncs the
/// checkpoint directory only after creating a WAL file; without a reader, that incidental fsync lands
/// right before every commit and makes an engine rename durable although the engine never fsynced the
/// directory. With a reader holding the index, the engine's own fsyncs are all there is.
/// </summary>
internal sealed class IndexReaderHold : IDisposable
{
    private readonly SqliteConnection _connection;

    private IndexReaderHold(SqliteConnection connection) => _connection = connection;

    /// <summary>Opens <c>index.sqlite</c> in <paramref name="dir"/> and reads it, so the WAL and the shared lock exist before the trace starts.</summary>
    public static IndexReaderHold Open(string dir)
    {
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = Path.Combine(dir, "index.sqlite"),
            Mode = SqliteOpenMode.ReadWrite,
            Pooling = false,
        }.ToString());
        connection.Open();
        using (var cmd = connection.CreateCommand())
        {
            cmd.CommandText = "SELECT count(*) FROM sqlite_master;";
            _ = cmd.ExecuteScalar();
        }

        if (!File.Exists(Path.Combine(dir, "index.sqlite-wal")))
        {
            connection.Dispose();
            throw new InvalidOperationException($"the reader opened '{dir}/index.sqlite' but no WAL exists: the index is not in WAL mode, so the scenario cannot keep it");
        }

        return new IndexReaderHold(connection);
    }

    public void Dispose() => _connection.Dispose();
}
