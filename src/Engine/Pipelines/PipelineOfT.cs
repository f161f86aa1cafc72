using System.Globalization;

namespace DataraxCkpt;

/// <summary>
/// Yields batches of a <see cref="MemorySource{T}"/>, epoch after epoch, and can be checkpointed and
/// resumed exactly. Build one with <see cref="Pipeline.FromSource{T}"/>.
/// </summary>
/// <remarks>
/// <para><b>Epochs.</b> An epoch visits every record once (with <c>dropRemainder</c>, all but the last
/// <c>recordCount % batchSize</c> records of that epoch's order). The last batch of an epoch is never
/// padded or merged with the next epoch; after it, iteration continues with epoch + 1, without end.
/// Stop when you have enough batches, or watch <see cref="Epoch"/>. <see cref="MoveNext"/> returns false
/// only when an epoch holds no batch at all (no records, or fewer than one batch with dropRemainder).</para>
/// <para><b>Order.</b> Without shuffle, index order. With shuffle, epoch <c>e</c> uses the permutation
/// drawn from <c>Key.FoldIn((uint)e)</c> (Fisher–Yates over the key's threefry bits), so each epoch is a
/// true permutation, epochs differ, and the order depends only on (seed, epoch, record count).</para>
/// <para><b>State.</b> <c>position</c> (records of the current epoch already yielded), <c>epoch</c>,
/// <c>key</c> and a <c>fingerprint</c> of the configuration {recordCount, batchSize, shuffle, seed,
/// dropRemainder}. Never the records. Restoring a state whose fingerprint differs throws
/// <see cref="IncompatibleStateException"/> naming the fields and leaves the pipeline untouched.</para>
/// </remarks>
/// <typeparam name="T">Type of a record.</typeparam>
public sealed class Pipeline<T> : CheckpointableIterator<IReadOnlyList<T>>
{
    /// <summary>State key of the number of records of the current epoch already yielded.</summary>
    public const string PositionKey = "position";

    /// <summary>State key of the current epoch (0-based).</summary>
    public const string EpochKey = "epoch";

    /// <summary>State key of the shuffle key.</summary>
    public const string KeyKey = "key";

    /// <summary>State key of the configuration fingerprint.</summary>
    public const string FingerprintKey = "fingerprint";

    private readonly MemorySource<T> _source;
    private int[]? _order;
    private long _orderEpoch = -1;
    private long _epoch;
    private int _position;
    private IReadOnlyList<T>? _current;

    internal Pipeline(MemorySource<T> source, int batchSize, bool shuffle, long seed, bool dropRemainder)
    {
        ArgumentNullException.ThrowIfNull(source);
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _source = source;
        BatchSize = batchSize;
        Shuffle = shuffle;
        Seed = seed;
        DropRemainder = dropRemainder;
        Key = PrngKey.Create(seed);
        RecordCount = source.Count;
    }

    /// <summary>Records per batch.</summary>
    public int BatchSize { get; }

    /// <summary>Whether each epoch is shuffled.</summary>
    public bool Shuffle { get; }

    /// <summary>Seed of <see cref="Key"/>.</summary>
    public long Seed { get; }

    /// <summary>Whether a short last batch of an epoch is skipped.</summary>
    public bool DropRemainder { get; }

    /// <summary>The shuffle key, <c>PrngKey.Create(Seed)</c>; epoch e is shuffled by <c>Key.FoldIn(e)</c>.</summary>
    public PrngKey Key { get; }

    /// <summary>Number of records in the source when the pipeline was built.</summary>
    public int RecordCount { get; }

    /// <summary>The current epoch, 0-based.</summary>
    public long Epoch => _epoch;

    /// <summary>Records of the current epoch already yielded.</summary>
    public int Position => _position;

    /// <summary>Batches in one epoch.</summary>
    public int BatchesPerEpoch => DropRemainder ? RecordCount / BatchSize : (RecordCount + BatchSize - 1) / BatchSize;

    // Records an epoch yields: all of them, or whole batches only.
    private int EpochLength => DropRemainder ? RecordCount / BatchSize * BatchSize : RecordCount;

    /// <summary>The batch the last <see cref="MoveNext"/> produced.</summary>
    /// <exception cref="InvalidOperationException">No batch yet, or the pipeline was just restored or reset.</exception>
    public override IReadOnlyList<T> Current =>
        _current ?? throw new InvalidOperationException("No current batch: call MoveNext first (after a restore or reset too).");

    /// <inheritdoc />
    public override bool MoveNext()
    {
        if (BatchesPerEpoch == 0)
        {
            _current = null;
            return false;
        }

        if (_position >= EpochLength)
        {
            if (Shuffle && _epoch >= uint.MaxValue)
            {
                // fold_in takes 32-bit data; beyond that, epochs would repeat orders.
                throw new InvalidOperationException("A shuffled pipeline supports at most 2^32 epochs.");
            }

            _epoch++;
            _position = 0;
        }

        var order = OrderOf(_epoch);
        var size = Math.Min(BatchSize, EpochLength - _position);
        var batch = new T[size];
        for (var i = 0; i < size; i++)
        {
            batch[i] = _source[order is null ? _position + i : order[_position + i]];
        }

        _position += size;
        _current = batch;
        return true;
    }

    /// <summary>Returns to the start of epoch 0.</summary>
    public override void Reset()
    {
        _epoch = 0;
        _position = 0;
        _current = null;
    }

    /// <inheritdoc />
    public override IDictionary<string, object?> Checkpoint() => new Dictionary<string, object?>(StringComparer.Ordinal)
    {
        [PositionKey] = (long)_position,
        [EpochKey] = _epoch,
        [KeyKey] = Key,
        [FingerprintKey] = Fingerprint(),
    };

    /// <summary>
    /// Resumes at the position recorded by <see cref="Checkpoint"/>; the next <see cref="MoveNext"/>
    /// yields the batch the checkpointed pipeline would have yielded next.
    /// </summary>
    /// <exception cref="IncompatibleStateException">The state was taken from a pipeline with another
    /// configuration, or is malformed; <see cref="IncompatibleStateException.DifferingFields"/> names the
    /// fields. Nothing is changed.</exception>
    public override void Restore(IDictionary<string, object?> state)
    {
        ArgumentNullException.ThrowIfNull(state);

        // Validate everything first; mutate only once the whole state is known to fit.
        var differing = new List<string>();
        var details = new List<string>();
        void Problem(string field, string detail)
        {
            differing.Add(field);
            details.Add($"{field}: {detail}");
        }

        var saved = StateValues.AsDictionary(state.TryGetValue(FingerprintKey, out var f) ? f : null);
        if (saved is null)
        {
            Problem(FingerprintKey, "missing or not a dictionary");
        }
        else
        {
            foreach (var (field, mine) in Fingerprint())
            {
                saved.TryGetValue(field, out var theirs);
                if (!FingerprintValueEquals(mine, theirs))
                {
                    var shown = saved.ContainsKey(field) ? StateValues.Describe(theirs) : "missing";
                    Problem(field, $"checkpoint {shown}, this pipeline {StateValues.Describe(mine)}");
                }
            }
        }

        var configurationDiffers = differing.Count > 0;
        state.TryGetValue(KeyKey, out var key);
        // A different seed already explains a different key; report the key only when it is the news.
        if ((key is not PrngKey restoredKey || !restoredKey.Equals(Key)) && !differing.Contains("seed"))
        {
            Problem(KeyKey, $"checkpoint {StateValues.Describe(key)}, this pipeline {Key}");
        }

        long epoch = 0;
        if (!state.TryGetValue(EpochKey, out var e) || !StateValues.TryGetInt64(e, out epoch) || epoch < 0)
        {
            Problem(EpochKey, $"expected a non-negative integer, found {StateValues.Describe(e)}");
        }

        // A position means something only under the configuration it was taken with: judge it only
        // when the fingerprint matched, so that a different batch size is not also reported as a bad position.
        long position = 0;
        if (!configurationDiffers && (!state.TryGetValue(PositionKey, out var p) || !StateValues.TryGetInt64(p, out position)
            || position < 0 || position > EpochLength || (position % BatchSize != 0 && position != EpochLength)))
        {
            // Only batch boundaries are reachable; anything else cannot have come from this configuration.
            Problem(PositionKey, $"expected a batch boundary between 0 and {EpochLength.ToString(CultureInfo.InvariantCulture)}, found {StateValues.Describe(p)}");
        }

        if (differing.Count > 0)
        {
            throw new IncompatibleStateException("pipeline", differing, string.Join("; ", details));
        }

        _epoch = epoch;
        _position = (int)position;
        _current = null;
    }

    private Dictionary<string, object?> Fingerprint() => new(StringComparer.Ordinal)
    {
        ["recordCount"] = (long)RecordCount,
        ["batchSize"] = (long)BatchSize,
        ["shuffle"] = Shuffle,
        ["seed"] = Seed,
        ["dropRemainder"] = DropRemainder,
    };

    private static bool FingerprintValueEquals(object? mine, object? theirs) => mine switch
    {
        long l => StateValues.TryGetInt64(theirs, out var other) && other == l,
        bool b => theirs is bool other && other == b,
        _ => Equals(mine, theirs),
    };

    // The visiting order of an epoch, or null for index order. Cached: one permutation per epoch.
    private int[]? OrderOf(long epoch)
    {
        if (!Shuffle)
        {
            return null;
        }

        if (_order is null || _orderEpoch != epoch)
        {
            _order = EpochPermutation.Create(Key.FoldIn((uint)epoch), RecordCount);
            _orderEpoch = epoch;
        }

        return _order;
    }
}
