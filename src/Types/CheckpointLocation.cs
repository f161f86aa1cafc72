namespace DataraxCkpt;

/// <summary>Tells a remote checkpoint location (an object store) from a local directory path.</summary>
public static class CheckpointLocation
{
    /// <summary>
    /// True when <paramref name="location"/> names an object-store location: <c>az://container/prefix</c>,
    /// or an <c>https://</c> / <c>http://</c> blob URL (Azurite's included). Everything else is a local path.
    /// </summary>
    /// <param name="location">A checkpoint location as a user wrote it.</param>
    public static bool IsRemote(string location)
    {
        ArgumentNullException.ThrowIfNull(location);
        return location.StartsWith("az://", StringComparison.OrdinalIgnoreCase)
            || location.StartsWith("https://", StringComparison.OrdinalIgnoreCase)
            || location.StartsWith("http://", StringComparison.OrdinalIgnoreCase);
    }
}
