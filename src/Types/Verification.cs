namespace DataraxCkpt;

/// <summary>The result of verifying one step's stored bytes against their checksums.</summary>
public sealed class StepVerification
{
    /// <summary>Creates a result.</summary>
    public StepVerification(string directory, long step, int itemsChecked, IReadOnlyList<ItemProblem> problems)
    {
        Directory = directory;
        Step = step;
        ItemsChecked = itemsChecked;
        Problems = problems;
    }

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>The step verified.</summary>
    public long Step { get; }

    /// <summary>True when every check passed.</summary>
    public bool Ok => Problems.Count == 0;

    /// <summary>How many stored items were checked.</summary>
    public int ItemsChecked { get; }

    /// <summary>Every failed check, with the item it concerns.</summary>
    public IReadOnlyList<ItemProblem> Problems { get; }
}

/// <summary>One failed check: which item (null for the step as a whole) and what failed.</summary>
/// <param name="Item">Leaf path, file name, or null.</param>
/// <param name="Problem">What failed.</param>
public sealed record ItemProblem(string? Item, string Problem);

/// <summary>What an index repair found and did (or would do, on a dry run).</summary>
public sealed class RepairReport
{
    /// <summary>Creates a report.</summary>
    public RepairReport(string directory, IReadOnlyList<long> stepsIndexed, IReadOnlyList<long> stepsAdded,
        IReadOnlyList<long> rowsRemoved, IReadOnlyList<string> leftoversRemoved, IReadOnlyList<string> problems, bool dryRun)
    {
        Directory = directory;
        StepsIndexed = stepsIndexed;
        StepsAdded = stepsAdded;
        RowsRemoved = rowsRemoved;
        LeftoversRemoved = leftoversRemoved;
        Problems = problems;
        DryRun = dryRun;
    }

    /// <summary>The checkpoint directory.</summary>
    public string Directory { get; }

    /// <summary>Every step the index lists after the repair.</summary>
    public IReadOnlyList<long> StepsIndexed { get; }

    /// <summary>Steps found in folders that the index lacked, now indexed.</summary>
    public IReadOnlyList<long> StepsAdded { get; }

    /// <summary>Index rows whose step folder was missing or invalid, now removed.</summary>
    public IReadOnlyList<long> RowsRemoved { get; }

    /// <summary>Leftovers of interrupted work that were swept (staging and trash folders).</summary>
    public IReadOnlyList<string> LeftoversRemoved { get; }

    /// <summary>Step folders that could not be indexed, and why; they are left in place.</summary>
    public IReadOnlyList<string> Problems { get; }

    /// <summary>True when nothing was changed.</summary>
    public bool DryRun { get; }
}

/// <summary>
/// How one leaf differs between two steps, or one container whose change no leaf shows (its type or key comparer,
/// a leaf in the other step, or an empty container present in one step only; its type code is the DType).
/// </summary>
public sealed class ItemDifference
{
    /// <summary>Creates a record.</summary>
    public ItemDifference(string name, string change, string? dtypeBefore, string? dtypeAfter,
        IReadOnlyList<long>? shapeBefore, IReadOnlyList<long>? shapeAfter, double? maxAbsDifference)
    {
        Name = name;
        Change = change;
        DTypeBefore = dtypeBefore;
        DTypeAfter = dtypeAfter;
        ShapeBefore = shapeBefore;
        ShapeAfter = shapeAfter;
        MaxAbsDifference = maxAbsDifference;
    }

    /// <summary>Leaf path, or a container's path (<c>.</c> for the state itself).</summary>
    public string Name { get; }

    /// <summary><c>Added</c>, <c>Removed</c> or <c>Changed</c>.</summary>
    public string Change { get; }

    /// <summary>Type code in the first step.</summary>
    public string? DTypeBefore { get; }

    /// <summary>Type code in the second step.</summary>
    public string? DTypeAfter { get; }

    /// <summary>Shape in the first step.</summary>
    public IReadOnlyList<long>? ShapeBefore { get; }

    /// <summary>Shape in the second step.</summary>
    public IReadOnlyList<long>? ShapeAfter { get; }

    /// <summary>For numeric tensors of equal shape and dtype, the largest absolute element difference.</summary>
    public double? MaxAbsDifference { get; }
}
