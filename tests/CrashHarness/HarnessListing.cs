using System.Globalization;

namespace DataraxCkpt;

/// <summary>A listing's outcome as one line: every record (step, time, sizes, items, pin, metadata or its error), or the listing's error.</summary>
public static class HarnessListing
{
    public static string Outcome(Func<IEnumerable<CheckpointInfo>> list)
    {
        try
        {
            return string.Join(" | ", list().Select(Describe));
        }
        catch (Exception e)
        {
            // The errno as a caller reads it (docs/cmdlets.md, IOError): the exception's Data, not its message.
            return $"!{e.GetType().Name} {(e as CheckpointException)?.ErrorId} {(e as CorruptCheckpointException)?.Item}: {e.Message} ({e.InnerException?.GetType().Name}: {e.InnerException?.Message}) errno-data={e.Data["DataraxCkpt.SystemErrno"]}";
        }
    }

    private static string Describe(CheckpointInfo i)
    {
        string metadata;
        try
        {
            metadata = string.Join(",", i.Metadata.Select(m => $"{m.Key}={m.Value}"));
        }
        catch (Exception e)
        {
            metadata = $"!{e.GetType().Name}: {e.Message}";
        }

        return string.Create(CultureInfo.InvariantCulture, $"{i.Step} {i.CreatedUtc.UtcTicks} {i.Size} {i.StoredSize} {i.ItemCount} {i.Pinned} [{metadata}] {i.Path}");
    }
}
