using System.Globalization;
using System.Numerics;

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
    public static RemovedRow Of(StepRow row) => new(row.Step, ParseSaveId(row.Step, row.SaveId.AsSpan()), row.CreatedUtc, row.Size, row.StoredSize,
        row.ItemCount, row.MetadataJson, row.Pinned);

    /// <summary>
    /// The value of step <paramref name="step"/>'s stored save id, as text (<see cref="char"/>) or as the index
    /// returns it (UTF-8 <see cref="byte"/>s), which must be exactly 32 lower-case hex digits.
    /// </summary>
    /// <exception cref="FormatException">It is not; the message names the step and the value.</exception>
    public static UInt128 ParseSaveId<T>(long step, ReadOnlySpan<T> saveId)
        where T : unmanaged, IBinaryInteger<T> =>
        TryParseSaveId(saveId, out var value)
            ? value
            : throw new FormatException(string.Create(CultureInfo.InvariantCulture,
                $"step {step} has a save id that is not 32 lower-case hex digits: '{Shown(saveId)}'"));

    /// <summary>
    /// The one reader of the save id grammar (exactly <see cref="StoredNames.SaveIdLength"/> digits of
    /// <c>0-9a-f</c>, nothing else: upper case is refused, as <see cref="StoredNames.IsSaveId"/> refuses it), over
    /// characters or UTF-8 bytes alike: an ASCII digit has the same code in both.
    /// </summary>
    public static bool TryParseSaveId<T>(ReadOnlySpan<T> saveId, out UInt128 value)
        where T : unmanaged, IBinaryInteger<T>
    {
        value = UInt128.Zero;
        if (saveId.Length != StoredNames.SaveIdLength)
        {
            return false;
        }

        var parsed = UInt128.Zero;
        foreach (var unit in saveId)
        {
            // Read as a code unit: a char or byte above 'f' (or a byte of a multi-byte UTF-8 sequence) is no digit.
            var c = uint.CreateTruncating(unit);
            uint digit;
            if (c - '0' <= 9)
            {
                digit = c - '0';
            }
            else if (c - 'a' <= 5)
            {
                digit = c - 'a' + 10;
            }
            else
            {
                return false;
            }

            parsed = (parsed << 4) | digit;
        }

        value = parsed;
        return true;
    }

    /// <summary>A bad save id as a message shows it: its text (bytes as UTF-8), cut after 64 characters.</summary>
    private static string Shown<T>(ReadOnlySpan<T> saveId)
        where T : unmanaged, IBinaryInteger<T>
    {
        var text = typeof(T) == typeof(byte)
            ? System.Text.Encoding.UTF8.GetString(System.Runtime.InteropServices.MemoryMarshal.AsBytes(saveId))
            : new string(System.Runtime.InteropServices.MemoryMarshal.Cast<T, char>(saveId));
        return text.Length <= 64 ? text : string.Concat(text.AsSpan(0, 64), "...");
    }
}
