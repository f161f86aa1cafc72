using System.Globalization;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace DataraxCkpt;

/// <summary>
/// A canonical SHA-256 of a harness state (keys in ordinal order, tensors as their raw bytes), so a
/// writer can record what it wrote and anyone restoring the step later (a C# or a pwsh participant,
/// which loads this assembly) can prove the bytes are exactly the writer's.
/// </summary>
public static class HarnessDigest
{
    public static string Of(System.Collections.IDictionary state)
    {
        ArgumentNullException.ThrowIfNull(state);
        using var sha = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        var keys = new List<string>();
        foreach (var key in state.Keys)
        {
            keys.Add(Convert.ToString(key, CultureInfo.InvariantCulture)!);
        }

        keys.Sort(StringComparer.Ordinal);
        foreach (var key in keys)
        {
            sha.AppendData(Encoding.UTF8.GetBytes(key + "\0"));
            switch (state[key])
            {
                case float[] f:
                    sha.AppendData(MemoryMarshal.AsBytes(f.AsSpan()));
                    break;
                case var other:
                    sha.AppendData(Encoding.UTF8.GetBytes(Convert.ToString(other, CultureInfo.InvariantCulture) ?? "null"));
                    break;
            }

            sha.AppendData("\0"u8);
        }

        return Convert.ToHexString(sha.GetHashAndReset());
    }
}
