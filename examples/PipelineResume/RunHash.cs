using System.Buffers.Binary;
using System.Security.Cryptography;

namespace DataraxCkpt.Examples.PipelineResume;

/// <summary>
/// A running SHA-256 chain over batches: <c>h(n) = SHA256(h(n-1) || records of batch n)</c>, starting
/// from 32 zero bytes. It depends only on the batches and their order, so two runs that saw the same
/// batches print the same hash however often they were interrupted; and because it is a chain, it is
/// resumable from its hex value, which the checkpoint stores.
/// </summary>
internal sealed class RunHash
{
    private byte[] _value;

    public RunHash(string? hex = null) => _value = hex is null ? new byte[32] : Convert.FromHexString(hex);

    public string Hex => Convert.ToHexStringLower(_value);

    public void Add(IReadOnlyList<int> batch)
    {
        var buffer = new byte[_value.Length + (4 * batch.Count)];
        _value.CopyTo(buffer, 0);
        for (var i = 0; i < batch.Count; i++)
        {
            BinaryPrimitives.WriteInt32LittleEndian(buffer.AsSpan(_value.Length + (4 * i)), batch[i]);
        }

        _value = SHA256.HashData(buffer);
    }
}
