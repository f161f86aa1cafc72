namespace DataraxCkpt.Values;

/// <summary>
/// The format stores every number little-endian and the engine moves tensor bytes straight between
/// arrays and files, so on a big-endian host it would misread every step. It refuses to start there.
/// </summary>
internal static class HostByteOrder
{
    /// <summary>Throws unless the host is little-endian.</summary>
    /// <param name="isLittleEndian">The host's byte order (<see cref="BitConverter.IsLittleEndian"/>; a parameter so tests can pose as another host).</param>
    /// <exception cref="PlatformNotSupportedException">The host is big-endian.</exception>
    public static void EnsureLittleEndian(bool isLittleEndian)
    {
        if (!isLittleEndian)
        {
            throw new PlatformNotSupportedException(
                "DataraxCkpt runs only on little-endian hosts: checkpoints store numbers little-endian and tensor bytes are copied as they lie in memory, so a big-endian host would misread them. Use an x64 or Arm64 machine.");
        }
    }
}
