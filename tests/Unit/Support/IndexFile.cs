using System.Globalization;
using Microsoft.Data.Sqlite;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// Raw SQL against a checkpoint directory's index file, as a hand edit or another engine version would
/// reach it: unpooled connections, so the engine's own connections see every change at once.
/// </summary>
internal sealed class IndexFile(string path)
{
    /// <summary>The index file's path.</summary>
    public string Path { get; } = path;

    /// <summary>The first column of the first row of <paramref name="sql"/>, as an integer.</summary>
    public long Scalar(string sql)
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        return Convert.ToInt64(cmd.ExecuteScalar(), CultureInfo.InvariantCulture);
    }

    /// <summary>Runs <paramref name="sql"/>.</summary>
    public void Execute(string sql)
    {
        using var c = Connect();
        using var cmd = c.CreateCommand();
        cmd.CommandText = sql;
        cmd.ExecuteNonQuery();
    }

    /// <summary>An open, unpooled connection to the file.</summary>
    public SqliteConnection Connect()
    {
        var c = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = Path, Pooling = false }.ToString());
        c.Open();
        return c;
    }
}
