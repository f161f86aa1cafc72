namespace DataraxCkpt;

/// <summary>
/// The port of Datarax's <c>validate_restore_compatibility</c>: before a saved state is applied to a
/// live iterator, the identity fields both states share must agree. Datarax compares Grain-style
/// top-level fields (sampler and data-source representations, shard and worker counts); this engine's
/// convention is a <c>fingerprint</c> dictionary, so any iterator that exposes one is protected, not
/// only <see cref="Pipeline{T}"/>. Fields present in only one of the two states are not compared.
/// </summary>
internal static class RestoreCompatibility
{
    /// <summary>The state key holding an iterator's configuration fingerprint.</summary>
    public const string FingerprintKey = "fingerprint";

    /// <summary>Throws when the two states' shared fingerprint fields differ.</summary>
    /// <exception cref="IncompatibleStateException">A shared field differs; every such field is named.</exception>
    public static void Validate(IDictionary<string, object?> current, IDictionary<string, object?> saved, string what)
    {
        if (!current.TryGetValue(FingerprintKey, out var c) || !saved.TryGetValue(FingerprintKey, out var s)
            || StateValues.AsDictionary(c) is not { } mine || StateValues.AsDictionary(s) is not { } theirs)
        {
            return;
        }

        var differing = new List<string>();
        var details = new List<string>();
        foreach (var (field, value) in mine)
        {
            if (theirs.TryGetValue(field, out var other) && !SameValue(value, other))
            {
                differing.Add(field);
                details.Add($"{field}: checkpoint {StateValues.Describe(other)}, this {what} {StateValues.Describe(value)}");
            }
        }

        if (differing.Count > 0)
        {
            throw new IncompatibleStateException(what, differing, string.Join("; ", details));
        }
    }

    // Integers compare by value whatever their .NET type (a state may come back with narrower ones).
    private static bool SameValue(object? a, object? b) =>
        StateValues.TryGetInt64(a, out var x) && StateValues.TryGetInt64(b, out var y) ? x == y : Equals(a, b);
}
