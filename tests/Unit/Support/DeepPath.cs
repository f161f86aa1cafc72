namespace DataraxCkpt.Tests.Support;

/// <summary>Paths of an exact byte length, for the tests of SQLite's path limit (512 bytes on Unix) and the store's depth checks.</summary>
internal static class DeepPath
{
    /// <summary>
    /// A path of exactly <paramref name="bytes"/> bytes under <paramref name="root"/> (ASCII, so bytes and characters
    /// agree), built of nested 60-character folders and a last folder of the length left, so that no component
    /// reaches the file system's 255-byte name limit.
    /// </summary>
    public static string Of(string root, int bytes)
    {
        var path = root;
        // Stops with 1 to 61 characters left for the last folder: at bytes - 61 it could stop with none left (an
        // empty last name, which Path.Combine drops) for some lengths of the temporary folder.
        while (path.Length < bytes - 62)
        {
            path = Path.Combine(path, new string('d', 60));
        }

        var deep = Path.Combine(path, new string('e', bytes - path.Length - 1));
        Assert.Equal(bytes, System.Text.Encoding.UTF8.GetByteCount(deep));
        return deep;
    }
}
