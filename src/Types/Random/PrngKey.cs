namespace DataraxCkpt;

/// <summary>
/// A JAX-style PRNG key: an implementation name and its raw key data (two uint32 words for
/// threefry2x32). Immutable; stored in checkpoints as a key, with its implementation recorded.
/// </summary>
public sealed partial class PrngKey : IEquatable<PrngKey>
{
    /// <summary>Name of JAX's default implementation.</summary>
    public const string Threefry2x32Impl = "threefry2x32";

    private readonly uint[] _keyData;

    /// <summary>Wraps existing key data.</summary>
    /// <exception cref="ArgumentException">The implementation is unknown or the data has the wrong length.</exception>
    public PrngKey(string impl, ReadOnlySpan<uint> keyData)
    {
        ArgumentNullException.ThrowIfNull(impl);
        if (!string.Equals(impl, Threefry2x32Impl, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Unknown PRNG implementation '{impl}'; only '{Threefry2x32Impl}' is supported.", nameof(impl));
        }

        if (keyData.Length != 2)
        {
            throw new ArgumentException($"A {impl} key holds 2 uint32 words, not {keyData.Length}.", nameof(keyData));
        }

        Impl = impl;
        _keyData = keyData.ToArray();
    }

    /// <summary>The implementation, e.g. <c>threefry2x32</c>.</summary>
    public string Impl { get; }

    /// <summary>The raw key words, as <c>jax.random.key_data(key)</c> shows them.</summary>
    public IReadOnlyList<uint> KeyData => _keyData;

    /// <summary>The raw key words as a span.</summary>
    public ReadOnlySpan<uint> KeyDataSpan => _keyData;

    /// <inheritdoc />
    public bool Equals(PrngKey? other) =>
        other is not null && string.Equals(Impl, other.Impl, StringComparison.Ordinal) && _keyData.AsSpan().SequenceEqual(other._keyData);

    /// <inheritdoc />
    public override bool Equals(object? obj) => Equals(obj as PrngKey);

    /// <inheritdoc />
    public override int GetHashCode() => HashCode.Combine(Impl, _keyData[0], _keyData[1]);

    /// <inheritdoc />
    public override string ToString() => $"PrngKey({Impl}: [{_keyData[0]}, {_keyData[1]}])";
}
