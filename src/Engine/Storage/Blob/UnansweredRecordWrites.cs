using Azure;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// The conditions of one save's commit-record writes whose fate the store never told (see <see cref="SendTally"/>).
/// Any of them may still land, late, after the save gave up: a create (<c>If-None-Match: *</c>) whenever the
/// step's record is absent, now or after any later removal; a replacement (<c>If-Match</c>) only while the record
/// still has the ETag it was conditional on, and never once that ETag changed (ETags are never reused). The save's
/// blobs may be deleted only when none of them can land any more, or a late write would list a step whose data
/// is gone.
/// </summary>
internal sealed class UnansweredRecordWrites
{
    private readonly List<ETag?> _conditions = [];

    /// <summary>Notes a write whose fate is unknown: <paramref name="ifMatch"/> is the version it replaces, null for a create.</summary>
    public void Add(ETag? ifMatch) => _conditions.Add(ifMatch);

    /// <summary>Whether there is any.</summary>
    public bool Any => _conditions.Count > 0;

    /// <summary>Whether a create is among them: it can land on any later empty slot, so no check now can rule it out.</summary>
    public bool AnyCreate => _conditions.Any(c => c is null);

    /// <summary>The replaced versions they are conditional on (each can land only while the record still has that ETag).</summary>
    public IEnumerable<ETag> Replaced => _conditions.OfType<ETag>();
}
