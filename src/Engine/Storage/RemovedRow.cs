using System.Globalization;

namespace DataraxCkpt.Storage;

/// <summary>
/// A step a removal takes out of the index, as the removal holds it: what its record needs and its save id,
/// without the manifest hash (a removal never reads the step), in a value with no object of its own. A prune
/// of a million steps holds a million of these at once: as <see cref="StepRow"/>s (an object, a 32-character
/// save id and a 64-character hash each, about 330 bytes) they were most of its peak memory and its page faults.
/// The save id is kept as its 128-bit value: a stored save id is exactly 32 lower-case hex digits
/// (<see cref="StoredNames.IsSaveId"/>), so <see cref="SaveId"/> gives back the very same text.
/// </summary>
/// <param name="Step">The step number.</param>
/// <param name="SaveIdValue">The save id's value (the 32 hex digits read as one number).</param>
/// <param name="CreatedUtc">The commit time (UTC).</param>
/// <param name="Size">The step's size.</param>
/// <param name="StoredSize">The step's stored size.</param>
/// <param name="ItemCount">The number of leaves.</param>
/// <param name="MetadataJson">The metadata text (equal texts of consecutive rows share one string).</param>
/// <param name="Pinned">Whether the step is pinned.</param>
internal readonly record struct RemovedRow(long Step, UInt128 SaveIdValue, DateTimeOffset CreatedUtc, long Size, long StoredSize,
    int ItemCount, string MetadataJson, bool Pinned)
{
    /// <summary>The save id as stored: 32 lower-case hex digits.</summary>
    public string SaveId => SaveIdValue.ToString("x32", CultureInfo.InvariantCulture);

    /// <summary>The removal's view of a row read whole.</summary>
    /// <exception cref="FormatException">The row's save id is not 32 lower-case hex digits (the index's readers refuse such a row first).</exception>
    public static RemovedRow Of(StepRow row) => new(row.Step, ParseSaveId(row.SaveId), row.CreatedUtc, row.Size, row.StoredSize,
        row.ItemCount, row.MetadataJson, row.Pinned);

    /// <summary>The value of a stored save id, which must be exactly 32 lower-case hex digits.</summary>
    /// <exception cref="FormatException">It is not.</exception>
    public static UInt128 ParseSaveId(ReadOnlySpan<char> saveId)
    {
        var value = UInt128.Zero;
        if (saveId.Length != StoredNames.SaveIdLength)
        {
            throw new FormatException("a save id is not 32 lower-case hex digits");
        }

        foreach (var c in saveId)
        {
            var digit = c switch
            {
                >= '0' and <= '9' => c - '0',
                >= 'a' and <= 'f' => c - 'a' + 10,
                _ => throw new FormatException("a save id is not 32 lower-case hex digits"),
            };
            value = (value << 4) | (uint)digit;
        }

        return value;
    }

    /// <summary>The value of a stored save id read as UTF-8 bytes, or null when it is not exactly 32 lower-case hex digits.</summary>
    public static UInt128? TryParseSaveId(ReadOnlySpan<byte> saveId)
    {
        if (saveId.Length != StoredNames.SaveIdLength)
        {
            return null;
        }

        var value = UInt128.Zero;
        foreach (var c in saveId)
        {
            int digit;
            if (c is >= (byte)'0' and <= (byte)'9')
            {
                digit = c - '0';
            }
            else if (c is >= (byte)'a' and <= (byte)'f')
            {
                digit = c - 'a' + 10;
            }
            else
            {
                return null;
            }

            value = (value << 4) | (uint)digit;
        }

        return value;
    }
}
