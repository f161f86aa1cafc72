namespace DataraxCkpt.Format;

/// <summary>How <see cref="ManifestCodec.StateExtent(System.ReadOnlySpan{byte}, int, StateScan)"/> finds the bytes that matter.</summary>
internal enum StateScan
{
    /// <summary>One byte at a time (where Vector256 is not accelerated).</summary>
    Bytes,

    /// <summary>Masks of 16 bytes (tests only).</summary>
    Vector128,

    /// <summary>Masks of 32 bytes (production, where Vector256 is accelerated).</summary>
    Vector256,
}
