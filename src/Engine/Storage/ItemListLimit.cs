using System.Globalization;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>
/// A step's item list is one SQLite value (docs/format.md §3.1), and SQLite refuses a value above
/// 1,000,000,000 bytes (its default <c>SQLITE_MAX_LENGTH</c>). A save whose list must exceed that would
/// write all its files and fail only at the index commit; this check refuses it before the step's files
/// are written. It sums a lower bound of the encoded list (every item takes at least six bytes plus one
/// per UTF-16 unit of its name), so it never refuses a list that would fit; a list between the bound and
/// the limit can still fail at the commit, which then rolls the step back like any failed commit.
/// </summary>
internal static class ItemListLimit
{
    /// <summary>SQLite's default largest string or blob, in bytes.</summary>
    public const long SqliteMaxValueBytes = 1_000_000_000;

    // The layout byte, a count of at least one byte and the 8-byte checksum.
    private const long Frame = 1 + 1 + 8;

    // The fewest bytes one item takes besides its name's characters: the name's length prefix, kind, dtype, shape, size, stored size.
    private const long PerItem = 6;

    /// <exception cref="UnsupportedValueException">The list cannot fit in <paramref name="limitBytes"/>.</exception>
    public static void Check(ItemListCodec.Writer items, long limitBytes)
    {
        // The encoder's writer already counts the items and their names' characters during its walk.
        var bound = Frame + (PerItem * items.Count) + items.NameChars;

        if (bound > limitBytes)
        {
            throw new UnsupportedValueException("state", string.Create(CultureInfo.InvariantCulture,
                $"its {items.Count:N0} leaves need an item list of at least {bound:N0} bytes in the index, above SQLite's limit of {limitBytes:N0} bytes for one value, so the save would fail at its commit (nothing was written). Store long lists of numbers as arrays or tensors (one item each), or split the state over several steps"));
        }
    }
}
