using System.Buffers.Binary;
using System.Buffers;
using DataraxCkpt.Faults;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;
using K4os.Compression.LZ4;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Format;

/// <summary>What writing a step produced: its layout and the figures the index records.</summary>
internal sealed class WrittenStep
{
    public required IReadOnlyList<TensorLayout> Tensors { get; init; }

    public required long StoredSize { get; init; }

    public required string ManifestHash { get; init; }
}

/// <summary>
/// Writes a step's files into its staging folder: tensor bytes cut into chunks of at most 4 MiB,
/// compressed on all cores while this thread appends the finished frames in order to
/// <c>tensors.lz4</c>; then <c>manifest.json.lz4</c>; both files and the folder are flushed to disk
/// before this returns (the data file's fsync and the folder's run beside the manifest's write and
/// fsync). Nothing here is visible to readers until the commit publishes the folder.
/// </summary>
internal static class StepWriter
{
    /// <summary>
    /// Raw bytes of small chunks compressed together by one task: a task per 1 KiB chunk costs more than
    /// the work, and compressing them one by one on the writer thread left the other cores idle.
    /// </summary>
    private const int BatchBytes = 1 << 20;

    /// <summary>Bytes of a tensor's start compressed both ways to choose its filter.</summary>
    private const int SampleBytes = 64 << 10;

    /// <summary>Bytes of a chunk's start compressed to tell whether the chunk compresses at all.</summary>
    private const int ProbeBytes = 64 << 10;

    /// <summary>Below this a tensor's frame is mostly header; shuffling cannot pay for itself.</summary>
    private const int MinShuffleBytes = 256;

    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(Lz4Frame.MaxFrameLength(Lz4Frame.BlockSize), 64);

    // onTensorsLaidOut is called with the tensor table once every chunk is written and before the manifest is encoded,
    // so a caller can finish work that needs the tensors' stored sizes (the index's item list) beside the manifest's
    // compression and write; it must not change the state.
    public static WrittenStep Write(IStepSink staging, long step, string saveId, DateTimeOffset createdUtc,
        EncodedState state, Action<long>? onBytesWritten, Action<IReadOnlyList<TensorLayout>>? onTensorsLaidOut = null)
    {
        var filters = ChooseFilters(state.Tensors);
        var chunks = PlanChunks(state.Tensors, filters);
        var layouts = new ChunkLayout[state.Tensors.Count][];
        for (var i = 0; i < layouts.Length; i++)
        {
            var count = (state.Tensors[i].ByteLength + Lz4Frame.BlockSize - 1) / Lz4Frame.BlockSize;
            layouts[i] = count == 0 ? [] : new ChunkLayout[count];
        }

        // Tensors with at least one chunk whose planes were packed: only they are written with the planes filter
        // (and only then does the step require it); a planned planes tensor none of whose chunks packed is an
        // ordinary shuffled tensor, readable by older engines.
        var packedTensors = new bool[state.Tensors.Count];
        long dataLength = 0;
        Stream? data = null;
        Task? dataSealed = null;
        try
        {
            try
            {
                data = staging.CreateFile(StepFormat.DataFile, 1 << 20);
                var writeback = new EarlyWriteback(data);
                var batches = PlanBatches(chunks);
                // The window counts large chunks (a group of them weighs its count) and packed batches (one each),
                // and always lets two batches run, so that two cores have work when groups exceed it.
                var window = WindowFor(Environment.ProcessorCount);
                var inFlight = new Queue<Task<BatchOutput>>();
                var weight = 0;
                var next = 0;
                try
                {
                    for (var b = 0; b < batches.Count; b++)
                    {
                        while (next < batches.Count && (inFlight.Count < 2 || weight + WeightOf(chunks, batches[next]) <= window))
                        {
                            var (first, count) = batches[next++];
                            weight += WeightOf(chunks, (first, count));
                            // A batch no pool thread took by the time the writer needs it is compressed by the writer.
                            inFlight.Enqueue(PoolOrWaiter.Run(() => CompressBatch(chunks, filters, first, count)));
                        }

                        var output = inFlight.Dequeue().GetAwaiter().GetResult();
                        weight -= WeightOf(chunks, batches[b]);
                        var start = batches[b].First;
                        if (output.Packed is { } packed)
                        {
                            // Small chunks: their frames lie end to end in one buffer, written with one call
                            // (the sink takes the buffer).
                            staging.WriteRented(data, packed, output.PackedLength, Buffers);

                            for (var k = 0; k < output.Sizes.Length; k++)
                            {
                                var chunk = chunks[start + k];
                                var (length, checksum, planesPacked) = output.Sizes[k];
                                packedTensors[chunk.Tensor] |= planesPacked;
                                layouts[chunk.Tensor][chunk.Index] = new ChunkLayout(dataLength, length, chunk.Length, checksum);
                                dataLength += length;
                                onBytesWritten?.Invoke(chunk.Length);
                                FaultInjector.Hit("save.data.chunk-written");
                            }

                            writeback.Written(dataLength);
                            continue;
                        }

                        var frames = output.Frames!;
                        for (var k = 0; k < frames.Length; k++)
                        {
                            var chunk = chunks[start + k];
                            var compressed = frames[k];
                            frames[k] = default;
                            packedTensors[chunk.Tensor] |= compressed.PlanesPacked;
                            try
                            {
                                var (length, checksum) = WriteFrame(staging, data, compressed);
                                layouts[chunk.Tensor][chunk.Index] = new ChunkLayout(dataLength, length, chunk.Length, checksum);
                                dataLength += length;
                                onBytesWritten?.Invoke(chunk.Length);
                                FaultInjector.Hit("save.data.chunk-written");
                            }
                            catch
                            {
                                ReturnFrames(frames);
                                throw;
                            }
                        }

                        writeback.Written(dataLength);
                    }
                }
                finally
                {
                    // On failure, let running compressions finish so their pooled buffers come back.
                    while (inFlight.Count > 0)
                    {
                        var t = inFlight.Dequeue();
                        try
                        {
                            ReturnBatch(t.GetAwaiter().GetResult());
                        }
                        catch (Exception)
                        {
                            // The first failure is already on its way to the caller.
                        }
                    }
                }

                FaultInjector.Hit("save.data.before-flush");
                // The data file's fsync overlaps the manifest's encoding and writing below; both files are
                // durable before the folder is synced, as before (the wait is in the finally below).
                dataSealed = staging.StartSeal(data);
            }
            finally
            {
                // Every chunk is on disk or abandoned: a detached copy is no longer needed.
                foreach (var tensor in state.Tensors)
                {
                    tensor.ReleaseCopy();
                }
            }

            return WriteManifest(staging, step, saveId, createdUtc, state, layouts, filters, packedTensors, dataLength, onTensorsLaidOut, ref dataSealed);
        }
        finally
        {
            // A failure before the seal was awaited (the manifest's write, a fault point) still waits for it:
            // the file must not be closed under a running fsync. Its own error then loses to the first one.
            PoolOrWaiter.WaitIgnoringFailure(dataSealed);

            data?.Dispose();
        }
    }

    private static WrittenStep WriteManifest(IStepSink staging, long step, string saveId, DateTimeOffset createdUtc, EncodedState state,
        ChunkLayout[][] layouts, ChunkFilter[] filters, bool[] packedTensors, long dataLength,
        Action<IReadOnlyList<TensorLayout>>? onTensorsLaidOut, ref Task? dataSealed)
    {
        var tensors = new TensorLayout[state.Tensors.Count];
        var usesPlanes = false;
        for (var i = 0; i < tensors.Length; i++)
        {
            usesPlanes |= packedTensors[i];
            tensors[i] = new TensorLayout
            {
                DType = state.Tensors[i].DType,
                Shape = state.Tensors[i].Shape,
                Filter = packedTensors[i] ? PlanePacking.Filter : filters[i] is ChunkFilter.Shuffle or ChunkFilter.Planes ? "shuffle" : "none",
                Chunks = layouts[i],
            };
        }

        onTensorsLaidOut?.Invoke(tensors);
        var rest = ManifestCodec.WriteRest(step, saveId, createdUtc, state, tensors, dataLength, usesPlanes ? [PlanePacking.Feature] : []);
        // The state node was compressed as the walk wrote it; what is left of the frame is the rest's few bytes.
        var frame = state.Manifest.Complete(rest.Span);
        FaultInjector.Hit("save.manifest.before-write");
        long frameLength;
        ulong fileHash;
        using (var manifest = staging.CreateFile(StepFormat.ManifestFile, 0))
        {
            // Both files exist now, so the folder's entries are final: their flush need not wait for the files'.
            staging.StartFolderSync();
            FaultInjector.Hit("save.folder.sync-started");
            // One path for a file and an upload: the frame is complete in memory, its words already patched, so it
            // goes out in order and its hash is of the bytes written (a write takes a whole piece or throws).
            (frameLength, fileHash) = frame.CopyTo(manifest);
            staging.Seal(manifest);
        }

        // Both files durable before the step is published: the data file's fsync ends here (its failure fails the save).
        var sealing = dataSealed!;
        dataSealed = null;
        sealing.GetAwaiter().GetResult();
        FaultInjector.Hit("save.manifest.written");
        staging.SyncFolder();
        return new WrittenStep
        {
            Tensors = tensors,
            StoredSize = dataLength + frameLength,
            ManifestHash = FormatManifestHash(fileHash),
        };
    }

    /// <summary>The hash the index keeps of a manifest file, to detect an index and a step that disagree.</summary>
    public static string ManifestHashOf(ReadOnlySpan<byte> manifestFile) => FormatManifestHash(XXH64.DigestOf(manifestFile));

    private static string FormatManifestHash(ulong digest) => digest.ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Copies one chunk out of the tensor, then compresses the copy into a pooled frame buffer, or, when
    /// a probe of its first bytes shows they do not compress, frames the copy in place as a stored frame (the
    /// copy leaves room for the frame's prefix and trailer, so the frame is one buffer the sink can take whole).
    /// Every later step — probing, compressing, checksumming, writing — reads the copy, never the
    /// caller's array again: a caller that changes the array during a synchronous save then gets a
    /// step holding some mix of old and new values, but one whose checksums match the bytes written.
    /// A shuffled chunk's copy is its shuffled bytes: the shuffle reads the array once, and a plain copy
    /// first would only add a pass over 4 MiB and a 4 MiB buffer per chunk in flight.
    /// </summary>
    /// <remarks>
    /// With <paramref name="checksumLater"/>, a stored frame comes back without its checksum
    /// (<see cref="Frame.ChecksumPending"/>): the batch computes it with those of the other stored chunks
    /// (<see cref="CompleteStoredFrames"/>) before any frame of the batch leaves it.
    /// </remarks>
    private static Frame Compress(Chunk chunk, bool checksumLater = false)
    {
        byte[]? copy = null;
        byte[]? buffer = null;
        try
        {
            copy = Buffers.Rent(Lz4Frame.StoredFrameLength(chunk.Length));
            var raw = copy.AsSpan(Lz4Frame.StoredPrefixLength, chunk.Length);
            if (chunk.Filter is ChunkFilter.Shuffle or ChunkFilter.Planes)
            {
                ByteShuffle.Shuffle(chunk.Source.Bytes(chunk.Offset, chunk.Length), raw, chunk.Source.ElementSize);
                if (chunk.Filter == ChunkFilter.Planes && CompressPlanes(raw, chunk.Source.ElementSize) is { } packedFrame)
                {
                    return packedFrame;
                }
            }
            else
            {
                chunk.Source.Bytes(chunk.Offset, chunk.Length).CopyTo(raw);
                if (LooksIncompressible(raw))
                {
                    Lz4Frame.WriteStoredPrefix(copy.AsSpan(0, Lz4Frame.StoredPrefixLength), chunk.Length);
                    if (!checksumLater)
                    {
                        Lz4Frame.WriteStoredTrailer(copy.AsSpan(Lz4Frame.StoredPrefixLength + chunk.Length, Lz4Frame.StoredTrailerLength), XxHash32.DigestOf(raw));
                    }

                    var stored = new Frame(copy, Lz4Frame.StoredFrameLength(chunk.Length), ChecksumPending: checksumLater);
                    copy = null;
                    return stored;
                }
            }

            buffer = Buffers.Rent(Lz4Frame.MaxFrameLength(chunk.Length));
            var frame = new Frame(buffer, Lz4Frame.Encode(raw, buffer));
            buffer = null;
            return frame;
        }
        finally
        {
            if (copy is not null)
            {
                Buffers.Return(copy);
            }

            if (buffer is not null)
            {
                Buffers.Return(buffer);
            }
        }
    }

    /// <summary>
    /// The frame of a chunk's packed planes (<see cref="PlanePacking"/>), or null when no plane of it pays for
    /// packing (the chunk is then framed as its shuffled bytes, as the <c>shuffle</c> filter does).
    /// </summary>
    private static Frame? CompressPlanes(ReadOnlySpan<byte> shuffled, int elementSize)
    {
        var content = Buffers.Rent(shuffled.Length);
        byte[]? buffer = null;
        try
        {
            var length = PlanePacking.Pack(shuffled, content.AsSpan(0, shuffled.Length), elementSize);
            if (length == 0)
            {
                return null;
            }

            buffer = Buffers.Rent(Lz4Frame.MaxFrameLength(length));
            var frame = new Frame(buffer, Lz4Frame.Encode(content.AsSpan(0, length), buffer), PlanesPacked: true);
            buffer = null;
            return frame;
        }
        finally
        {
            Buffers.Return(content);
            if (buffer is not null)
            {
                Buffers.Return(buffer);
            }
        }
    }

    /// <summary>
    /// Groups the chunks into units of work in order: up to <see cref="StoredChunkGroup.Capacity"/> consecutive unfiltered
    /// chunks of <see cref="BatchBytes"/> or more together, any other chunk of that size alone, smaller ones
    /// together up to about <see cref="BatchBytes"/>.
    /// </summary>
    private static List<(int First, int Count)> PlanBatches(List<Chunk> chunks)
    {
        var groupSize = GroupSizeFor(Environment.ProcessorCount);
        var batches = new List<(int First, int Count)>();
        var i = 0;
        while (i < chunks.Count)
        {
            var first = i;
            long bytes = chunks[i++].Length;
            if (bytes >= BatchBytes)
            {
                while (i < chunks.Count && i - first < groupSize && IsGroupable(chunks[first]) && IsGroupable(chunks[i]))
                {
                    i++;
                }

                batches.Add((first, i - first));
                continue;
            }

            while (i < chunks.Count && bytes < BatchBytes && chunks[i].Length < BatchBytes)
            {
                bytes += chunks[i++].Length;
            }

            batches.Add((first, i - first));
        }

        return batches;
    }

    /// <summary>The writer's window in large chunks for a machine of <paramref name="processorCount"/> cores.</summary>
    internal static int WindowFor(int processorCount) => Math.Max(2, processorCount * 2);

    /// <summary>
    /// How many consecutive large unfiltered chunks one task takes. A group runs on one thread, so grouping is used
    /// only where the window still gives every core a task (two cores: two groups of four); with more cores a group
    /// would leave cores idle whenever its chunks compress (found by the final review of session 10).
    /// </summary>
    internal static int GroupSizeFor(int processorCount) =>
        Math.Max(2, WindowFor(processorCount) / StoredChunkGroup.Capacity) >= processorCount ? StoredChunkGroup.Capacity : 1;

    /// <summary>
    /// A large chunk with no filter: likely a stored frame. Up to <see cref="StoredChunkGroup.Capacity"/> of them go
    /// to one task together, so that those stored raw (full-mantissa floats) are checksummed side by side
    /// (<see cref="XxHash32.AppendFour"/>), where one hash at a time is a chain of dependent multiplies that cost more
    /// CPU than the chunk's copy; the reader verifies groups of the same size (one constant, the hash's lanes).
    /// </summary>
    private static bool IsGroupable(Chunk chunk) => chunk.Length >= BatchBytes && chunk.Filter == ChunkFilter.None;

    /// <summary>What a batch weighs in the writer's window: its chunks when they are large (each its own buffer), else one.</summary>
    private static int WeightOf(List<Chunk> chunks, (int First, int Count) batch) =>
        chunks[batch.First].Length >= BatchBytes ? batch.Count : 1;

    /// <summary>
    /// Compresses chunks [first, first + count) in order: small chunks into one buffer of frames end to end,
    /// a chunk of <see cref="BatchBytes"/> or more into its own frame (the stored ones of a group checksummed
    /// side by side). On failure returns the buffers taken.
    /// </summary>
    private static BatchOutput CompressBatch(List<Chunk> chunks, ChunkFilter[] filters, int first, int count)
    {
        if (chunks[first].Length < BatchBytes)
        {
            return CompressPacked(chunks, filters, first, count);
        }

        var frames = new Frame[count];
        try
        {
            for (var k = 0; k < count; k++)
            {
                frames[k] = Compress(chunks[first + k], checksumLater: count > 1);
            }

            CompleteStoredFrames(frames);
            return new BatchOutput(frames, null, 0, []);
        }
        catch
        {
            ReturnFrames(frames);
            throw;
        }
    }

    /// <summary>
    /// Writes the checksums of the stored frames that <see cref="Compress"/> left without one, four side by side:
    /// each is the xxHash32 of the frame's content, as <see cref="XxHash32.DigestOf"/> gives it.
    /// </summary>
    private static void CompleteStoredFrames(Frame[] frames)
    {
        Span<int> group = stackalloc int[StoredChunkGroup.Capacity];
        var k = 0;
        while (k < frames.Length)
        {
            var n = 0;
            for (; k < frames.Length && n < StoredChunkGroup.Capacity; k++)
            {
                if (frames[k].ChecksumPending)
                {
                    group[n++] = k;
                }
            }

            if (n == 0)
            {
                return;
            }

            XxHash32 h0 = new(0), h1 = new(0), h2 = new(0), h3 = new(0);
            XxHash32.AppendFour(ref h0, ref h1, ref h2, ref h3,
                StoredContent(frames, group, n, 0), StoredContent(frames, group, n, 1), StoredContent(frames, group, n, 2), StoredContent(frames, group, n, 3));
            Span<uint> digests = [h0.Digest(), h1.Digest(), h2.Digest(), h3.Digest()];
            for (var j = 0; j < n; j++)
            {
                ref var frame = ref frames[group[j]];
                Lz4Frame.WriteStoredTrailer(frame.Buffer.AsSpan(frame.Length - Lz4Frame.StoredTrailerLength, Lz4Frame.StoredTrailerLength), digests[j]);
                frame = frame with { ChecksumPending = false };
            }
        }
    }

    /// <summary>The content of the <paramref name="j"/>-th stored frame of a group, or nothing past its end.</summary>
    private static ReadOnlySpan<byte> StoredContent(Frame[] frames, ReadOnlySpan<int> group, int n, int j)
    {
        if (j >= n)
        {
            return default;
        }

        var frame = frames[group[j]];
        return frame.Buffer.AsSpan(Lz4Frame.StoredPrefixLength, frame.Length - Lz4Frame.StoredPrefixLength - Lz4Frame.StoredTrailerLength);
    }

    /// <summary>
    /// Frames of small chunks, end to end in one pooled buffer, with each frame's length and checksum. A
    /// chunk is first copied out of its tensor (every later step reads the copy, as in <see cref="Compress"/>).
    /// A tensor small enough to be its own filter sample (<see cref="FilterDecidedByChunk"/>) is compressed
    /// both ways here and keeps the better encoding by the rule <see cref="ChooseFilter"/> applies: the same
    /// bytes the sample and a third encoding would give, without the separate pass over every tiny tensor.
    /// </summary>
    private static BatchOutput CompressPacked(List<Chunk> chunks, ChunkFilter[] filters, int first, int count)
    {
        var capacity = 0L;
        var largest = 0;
        for (var k = 0; k < count; k++)
        {
            var length = chunks[first + k].Length;
            capacity += Lz4Frame.MaxFrameLength(length);
            largest = Math.Max(largest, length);
        }

        var packed = Buffers.Rent(checked((int)capacity));
        var copy = Buffers.Rent(largest);
        var shuffled = Buffers.Rent(largest);
        var trial = Buffers.Rent(LZ4Codec.MaximumOutputSize(largest));
        var sizes = new (int Length, uint Checksum, bool PlanesPacked)[count];
        try
        {
            var pos = 0;
            for (var k = 0; k < count; k++)
            {
                var chunk = chunks[first + k];
                var raw = copy.AsSpan(0, chunk.Length);
                var filtered = shuffled.AsSpan(0, chunk.Length);
                var frame = packed.AsSpan(pos);
                var body = frame[Lz4Frame.SingleBlockOffset..];
                var filter = filters[chunk.Tensor];
                int length;
                var planesPacked = false;
                if (filter is ChunkFilter.Shuffle or ChunkFilter.Planes)
                {
                    // The shuffled bytes are the private copy here, as in Compress.
                    ByteShuffle.Shuffle(chunk.Source.Bytes(chunk.Offset, chunk.Length), filtered, chunk.Source.ElementSize);
                    var content = filtered;
                    if (filter == ChunkFilter.Planes)
                    {
                        // The packed planes go to the copy buffer, unused by a shuffled chunk.
                        var packedLength = PlanePacking.Pack(filtered, raw, chunk.Source.ElementSize);
                        if (packedLength > 0)
                        {
                            content = raw[..packedLength];
                            planesPacked = true;
                        }
                    }

                    length = Lz4Frame.CompleteSingleBlock(frame, content, LZ4Codec.Encode(content, body));
                }
                else
                {
                    chunk.Source.Bytes(chunk.Offset, chunk.Length).CopyTo(raw);
                    if (filter == ChunkFilter.None)
                    {
                        length = Lz4Frame.CompleteSingleBlock(frame, raw, LooksIncompressible(raw) ? 0 : LZ4Codec.Encode(raw, body));
                    }
                    else
                    {
                        ByteShuffle.Shuffle(raw, filtered, chunk.Source.ElementSize);
                        var plain = LZ4Codec.Encode(raw, body);
                        var withShuffle = LZ4Codec.Encode(filtered, trial);
                        if (ShufflePays(plain, withShuffle, chunk.Length))
                        {
                            // As for a sampled tensor, the shuffled chunk's planes are packed where that pays; the plain
                            // copy is no longer needed and takes the packed planes.
                            var packedLength = PlanePacking.Pack(filtered, raw, chunk.Source.ElementSize);
                            filters[chunk.Tensor] = ChunkFilter.Planes;
                            if (packedLength > 0)
                            {
                                planesPacked = true;
                                length = Lz4Frame.CompleteSingleBlock(frame, raw[..packedLength], LZ4Codec.Encode(raw[..packedLength], body));
                            }
                            else
                            {
                                trial.AsSpan(0, withShuffle).CopyTo(body);
                                length = Lz4Frame.CompleteSingleBlock(frame, filtered, withShuffle);
                            }
                        }
                        else
                        {
                            filters[chunk.Tensor] = ChunkFilter.None;
                            length = Lz4Frame.CompleteSingleBlock(frame, raw, plain);
                        }
                    }
                }

                sizes[k] = (length, BinaryPrimitives.ReadUInt32LittleEndian(frame.Slice(length - 4, 4)), planesPacked);
                pos += length;
            }

            var output = new BatchOutput(null, packed, pos, sizes);
            packed = null;
            return output;
        }
        finally
        {
            if (packed is not null)
            {
                Buffers.Return(packed);
            }

            Buffers.Return(copy);
            Buffers.Return(shuffled);
            Buffers.Return(trial);
        }
    }

    /// <summary>Gives back the pooled buffers of a batch that will not be written.</summary>
    private static void ReturnBatch(BatchOutput output)
    {
        if (output.Packed is not null)
        {
            Buffers.Return(output.Packed);
        }

        if (output.Frames is not null)
        {
            ReturnFrames(output.Frames);
        }
    }

    /// <summary>Gives back the pooled buffers of frames not written (a written frame's slot is cleared).</summary>
    private static void ReturnFrames(Frame[] frames)
    {
        foreach (var frame in frames)
        {
            if (frame.Buffer is not null)
            {
                Buffers.Return(frame.Buffer);
            }
        }

        Array.Clear(frames);
    }

    /// <summary>
    /// Appends a chunk's frame and hands its buffer to the sink; returns its length and its content checksum
    /// (the frame's last four bytes, read before the buffer is handed over).
    /// </summary>
    private static (int Length, uint Checksum) WriteFrame(IStepSink staging, Stream data, Frame frame)
    {
        if (frame.ChecksumPending)
        {
            // A stored frame whose trailer was never written would be a step no reader accepts.
            throw new InvalidOperationException("A stored frame reached the sink without its checksum.");
        }

        var checksum = BinaryPrimitives.ReadUInt32LittleEndian(frame.Buffer.AsSpan(frame.Length - 4, 4));
        staging.WriteRented(data, frame.Buffer, frame.Length, Buffers);
        return (frame.Length, checksum);
    }

    /// <summary>
    /// True when a chunk's first <see cref="ProbeBytes"/> compress by less than 2%: LZ4 would store the
    /// chunk raw anyway. Small chunks are simply compressed; the probe would cost as much.
    /// </summary>
    private static bool LooksIncompressible(ReadOnlySpan<byte> raw)
    {
        if (raw.Length < 4 * ProbeBytes)
        {
            return false;
        }

        var output = Buffers.Rent(LZ4Codec.MaximumOutputSize(ProbeBytes));
        try
        {
            var encoded = LZ4Codec.Encode(raw[..ProbeBytes], output);
            return encoded <= 0 || encoded * 50L >= ProbeBytes * 49L;
        }
        finally
        {
            Buffers.Return(output);
        }
    }

    /// <summary>
    /// Picks each tensor's filter from a sample of its first bytes compressed both ways: shuffle only
    /// when it saves a clear margin, because it costs a pass over the bytes on save and on restore.
    /// Tensors are sampled in parallel; a 64 KiB sample costs far less than the chunks it decides. A tensor
    /// no larger than the sample is left <see cref="ChunkFilter.Undecided"/>: its chunk decides.
    /// </summary>
    private static ChunkFilter[] ChooseFilters(IReadOnlyList<TensorSource> tensors)
    {
        var filters = new ChunkFilter[tensors.Count];
        var sampled = new List<int>();
        for (var i = 0; i < filters.Length; i++)
        {
            var source = tensors[i];
            if (!ByteShuffle.Supports(source.ElementSize) || source.ByteLength < MinShuffleBytes)
            {
                filters[i] = ChunkFilter.None;
            }
            else if (FilterDecidedByChunk(source))
            {
                // The whole tensor is the sample: its one chunk is compressed both ways by the batch that holds it.
                filters[i] = ChunkFilter.Undecided;
            }
            else
            {
                sampled.Add(i);
            }
        }

        if (sampled.Count < 16)
        {
            foreach (var i in sampled)
            {
                filters[i] = ChooseFilter(tensors[i]);
            }
        }
        else
        {
            Parallel.ForEach(sampled, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                i => filters[i] = ChooseFilter(tensors[i]));
        }

        return filters;
    }

    /// <summary>The filter of a tensor larger than <see cref="SampleBytes"/>, from a sample of its start.</summary>
    private static ChunkFilter ChooseFilter(TensorSource source)
    {

        var length = (int)Math.Min(SampleBytes, source.ByteLength);
        var sample = source.Bytes(0, length);
        var output = Buffers.Rent(LZ4Codec.MaximumOutputSize(length));
        var shuffled = Buffers.Rent(length);
        try
        {
            var plain = LZ4Codec.Encode(sample, output);
            ByteShuffle.Shuffle(sample, shuffled.AsSpan(0, length), source.ElementSize);
            var filtered = LZ4Codec.Encode(shuffled.AsSpan(0, length), output);
            // Where shuffling pays, each chunk's planes are packed where that pays too (PlanePacking decides per
            // plane, from a sample). Where it does not (floats with a full mantissa), the tensor stays unfiltered
            // and its chunks are stored frames read straight into place: packing the exponent plane there would
            // save about 12% of the bytes for an LZ4 pass on save and a decode pass on restore.
            return ShufflePays(plain, filtered, length) ? ChunkFilter.Planes : ChunkFilter.None;
        }
        finally
        {
            Buffers.Return(output);
            Buffers.Return(shuffled);
        }
    }

    /// <summary>
    /// True for a tensor that is wholly its own filter sample (at most <see cref="SampleBytes"/>, so one
    /// chunk): the sample would compress the same bytes both ways that the chunk's compression then repeats.
    /// </summary>
    private static bool FilterDecidedByChunk(TensorSource source) => source.ByteLength <= SampleBytes;

    /// <summary>
    /// The filter rule: shuffle when its encoding is at least 10% smaller. A block that does not compress
    /// (encoded length 0 or less, or not below the raw length) is stored raw, so its cost is its length.
    /// </summary>
    private static bool ShufflePays(int plain, int filtered, int length)
    {
        long plainCost = plain <= 0 ? length : Math.Min(plain, length);
        long filteredCost = filtered <= 0 ? length : Math.Min(filtered, length);
        return filteredCost * 10L <= plainCost * 9L;
    }

    private static List<Chunk> PlanChunks(IReadOnlyList<TensorSource> tensors, ChunkFilter[] filters)
    {
        var chunks = new List<Chunk>();
        for (var t = 0; t < tensors.Count; t++)
        {
            var source = tensors[t];
            var index = 0;
            for (long offset = 0; offset < source.ByteLength; offset += Lz4Frame.BlockSize)
            {
                chunks.Add(new Chunk(t, index++, source, offset, (int)Math.Min(Lz4Frame.BlockSize, source.ByteLength - offset), filters[t]));
            }
        }

        return chunks;
    }

    private enum ChunkFilter
    {
        None,
        Shuffle,

        /// <summary>Shuffled, then planes packed where they pay (<see cref="PlanePacking"/>); chosen per tensor by its sample.</summary>
        Planes,

        /// <summary>Chosen while the tensor's one chunk is compressed (<see cref="FilterDecidedByChunk"/>).</summary>
        Undecided,
    }

    /// <summary>
    /// A chunk's whole frame in a pooled buffer: compressed, or the chunk's private copy framed as a stored frame
    /// with the checksum computed from that same copy (<paramref name="ChecksumPending"/> until its batch has
    /// computed it).
    /// </summary>
    private readonly record struct Frame(byte[] Buffer, int Length, bool PlanesPacked = false, bool ChecksumPending = false);

    /// <summary>The output of one unit of work: <paramref name="Frames"/>, or frames packed end to end with their sizes.</summary>
    private readonly record struct BatchOutput(Frame[]? Frames, byte[]? Packed, int PackedLength, (int Length, uint Checksum, bool PlanesPacked)[] Sizes);

    /// <summary>A tensor's <paramref name="Index"/>-th chunk. <paramref name="Filter"/> is the plan's; small chunks read the decided one.</summary>
    private readonly record struct Chunk(int Tensor, int Index, TensorSource Source, long Offset, int Length, ChunkFilter Filter);
}
