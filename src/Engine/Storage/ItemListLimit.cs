using System.Globalization;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>
/// A step's item list is one SQLite value (docs/format.md §3.1), and SQLite refuses a value above
/// 1,000,000,000 bytes (its default <c>SQLITE_MAX_LENGTH</c>). A save whose list must exceed that would
/// write all its files and fail only at the index commit; this check refuses it before the step's files
/// are written. It sums a lower bound of the list's payload (docs/format.md §3.1, layout 2: every item takes at
/// least seven bytes, a name shared whole with the previous one none), so it never refuses a list that would
/// fit; a list between the bound and the limit is refused when it is finished, after the step's files are
/// written and before anything is published (<see cref="ItemListCodec.Writer.ToArray(Func{int, long}, long)"/>).
/// </summary>
internal static class ItemListLimit
{
    /// <summary>SQLite's default largest string or blob, in bytes.</summary>
    public const long SqliteMaxValueBytes = 1_000_000_000;

    // The text table's count, at least one byte.
    private const long Frame = 1;

    // The fewest bytes one item takes in the payload: the shared length, the name's header, kind, dtype, shape, size, stored size.
    private const long PerItem = 7;

    /// <exception cref="UnsupportedValueException">The list cannot fit in <paramref name="limitBytes"/>.</exception>
    public static void Check(ItemListCodec.Writer items, long limitBytes)
    {
        // The encoder's writer already counts the items and their names' characters during its walk.
        var bound = Frame + (PerItem * items.Count);

        if (bound > limitBytes)
        {
            throw new UnsupportedValueException("state", string.Create(CultureInfo.InvariantCulture,
                $"its {items.Count:N0} leaves need an item list of at least {bound:N0} bytes in the index, above the index's limit of {limitBytes:N0} bytes for one step's list (SQLite's largest value), so the save would fail at its commit (nothing was written). Store long lists of numbers as arrays or tensors (one item each), or split the state over several steps"));
        }
    }
}
