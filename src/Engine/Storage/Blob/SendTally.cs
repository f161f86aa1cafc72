namespace DataraxCkpt.Storage.Blob;

/// <summary>The tries of one call's request, counted by <see cref="SendCountPolicy"/> (updated from the SDK's threads).</summary>
internal sealed class SendTally
{
    /// <summary>Tries sent (the first and every retry).</summary>
    public int Sends;

    /// <summary>
    /// Tries whose fate the store never told: no answer (lost, timed out) or a 5xx. Each may have been applied,
    /// and each may still be on its way and be applied later.
    /// </summary>
    public int Unknown;

    /// <summary>Whether a try may have been applied or may still be applied without this host knowing.</summary>
    public bool AnyUnknown => Volatile.Read(ref Unknown) > 0;
}
