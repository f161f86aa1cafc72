using System.Collections;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The encoder sizes its first state-node buffer from the root's count only when that count predicts the node:
/// a root container of leaves. A root that is one tensor (a float[], a List&lt;double&gt;) has a node of a few
/// dozen bytes whatever its length (found by the attack on the module save path).
/// </summary>
public sealed class EncoderPresizeTests
{
    // The walk's node goes to the compressor in 64 KiB pieces (round 69): at most the one being written and those
    // queued behind the compressor (eight before the walk waits) are held raw.
    private const int MostRawPieces = 9;

    [Fact]
    public void A_root_that_is_one_tensor_rents_no_buffer_sized_from_its_length()
    {
        // 600,000 elements: the old presize took 524,288 "entries" (the cap), a 32 MiB node buffer and a 16 MiB item
        // list, for a node of 33 bytes, kept in the shared pool afterwards.
        foreach (var root in new object[] { new float[600_000], new List<double>(new double[600_000]), new object?[600_000].Select(_ => (object?)1.0).ToArray() })
        {
            var encoded = StateEncoder.Encode(root, null);
            try
            {
                Assert.True(encoded.StateNodeLength < 100, $"{root.GetType().Name}: node of {encoded.StateNodeLength} bytes");
                Assert.True(encoded.Manifest.PiecesHeld <= 1, $"{root.GetType().Name}: {encoded.Manifest.PiecesHeld} raw pieces held for a node of {encoded.StateNodeLength} bytes");
            }
            finally
            {
                encoded.Release();
            }
        }
    }

    [Fact]
    public void A_root_dictionary_of_many_leaves_is_not_held_whole_after_its_walk()
    {
        var root = new Hashtable();
        for (var i = 0; i < 100_000; i++)
        {
            root["k" + i] = i;
        }

        var encoded = StateEncoder.Encode(root, null);
        try
        {
            Assert.True(encoded.StateNodeLength >= 100_000 * 32, $"a node of {encoded.StateNodeLength} bytes");
            Assert.True(encoded.Manifest.PiecesHeld <= MostRawPieces, $"{encoded.Manifest.PiecesHeld} raw 64 KiB pieces held after the walk");
        }
        finally
        {
            encoded.Release();
        }
    }

    /// <summary>A collection the encoder refuses, whose Count fails.</summary>
    private sealed class BrokenCount : ICollection
    {
        public int Count => throw new InvalidOperationException("Count of a broken collection");
        public bool IsSynchronized => false;
        public object SyncRoot => this;
        public void CopyTo(Array array, int index) => throw new NotSupportedException();
        public IEnumerator GetEnumerator() => Array.Empty<object>().GetEnumerator();
    }

    [Fact]
    public void A_root_of_an_unsupported_collection_is_refused_naming_its_type_not_failed_by_its_count()
    {
        var e = Assert.Throws<UnsupportedValueException>(() => StateEncoder.Encode(new BrokenCount(), null));
        Assert.Contains(nameof(BrokenCount), e.Message, StringComparison.Ordinal);
    }
}
