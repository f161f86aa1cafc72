using System.Globalization;

namespace DataraxCkpt.Storage;

/// <summary>
/// The shapes of the stored strings that become parts of paths: save ids (32 lower-case hex digits, as
/// <c>Guid.ToString("N")</c> writes them) and staging names (<c>&lt;step&gt;-&lt;save id&gt;</c>). They come
/// back from manifests and from the index, both of which a hostile or damaged directory controls, so
/// each is checked where it is read and paths are built only from values that passed.
/// </summary>
internal static class StoredNames
{
    public const int SaveIdLength = 32;

    /// <summary>True for exactly 32 lower-case hex digits: no separator, no dot, nothing a path could climb with.</summary>
    public static bool IsSaveId(string? value)
    {
        if (value is null || value.Length != SaveIdLength)
        {
            return false;
        }

        foreach (var c in value)
        {
            if (c is not ((>= '0' and <= '9') or (>= 'a' and <= 'f')))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>True for <c>&lt;step&gt;-&lt;save id&gt;</c> with a canonical step number.</summary>
    public static bool IsStagingName(string? value) => TryParseStagingName(value, out _, out _);

    public static bool TryParseStagingName(string? value, out long step, out string saveId)
    {
        step = -1;
        saveId = string.Empty;
        if (value is null || value.Length < SaveIdLength + 2 || value[^(SaveIdLength + 1)] != '-')
        {
            return false;
        }

        var id = value[^SaveIdLength..];
        if (!IsSaveId(id) || !StepFolders.TryParseStep(value[..^(SaveIdLength + 1)], out step))
        {
            step = -1;
            return false;
        }

        saveId = id;
        return true;
    }

    /// <summary>The staging (and trash) name of a save; refuses a save id of the wrong shape.</summary>
    public static string StagingName(long step, string saveId)
    {
        RequireSaveId(saveId);
        if (step < 0)
        {
            throw new InvalidDataException($"step {step} cannot name a folder");
        }

        return string.Create(CultureInfo.InvariantCulture, $"{step}-{saveId}");
    }

    /// <exception cref="InvalidDataException">The value is not 32 lower-case hex digits.</exception>
    public static void RequireSaveId(string? saveId)
    {
        if (!IsSaveId(saveId))
        {
            throw new InvalidDataException($"save id '{Shorten(saveId)}' is not 32 lower-case hex digits");
        }
    }

    /// <exception cref="InvalidDataException">The value is not a staging name.</exception>
    public static void RequireStagingName(string? name)
    {
        if (!IsStagingName(name))
        {
            throw new InvalidDataException($"staging name '{Shorten(name)}' is not '<step>-<32 hex digits>'");
        }
    }

    private static string Shorten(string? value) => value is null ? "(none)" : value.Length <= 80 ? value : value[..80] + "…";
}
