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
/// <c>tensors.lz4</c>; then <c>manifest.json.lz4</c>; then both files and the folder are flushed
/// to disk. Nothing here is visible to readers until the commit publishes the folder.
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

    public static WrittenStep Write(IStepSink staging, long step, string saveId, DateTimeOffset createdUtc,
        EncodedState state, Action<long>? onBytesWritten)
    {
        var filters = ChooseFilters(state.Tensors);
        var chunks = PlanChunks(state.Tensors, filters);
        var layouts = new List<ChunkLayout>[state.Tensors.Count];
        for (var i = 0; i < layouts.Length; i++)
        {
            layouts[i] = new List<ChunkLayout>();
        }

        long dataLength = 0;
        try
        {
            using (var data = staging.CreateFile(StepFormat.DataFile, 1 << 20))
            {
                var batches = PlanBatches(chunks);
                var window = Math.Max(2, Environment.ProcessorCount * 2);
                var inFlight = new Queue<Task<Frame[]>>();
                var next = 0;
                try
                {
                    for (var b = 0; b < batches.Count; b++)
                    {
                        while (next < batches.Count && next < b + window)
                        {
                            var (first, count) = batches[next++];
                            inFlight.Enqueue(Task.Run(() => CompressBatch(chunks, first, count)));
                        }

                        var frames = inFlight.Dequeue().GetAwaiter().GetResult();
                        var start = batches[b].First;
                        for (var k = 0; k < frames.Length; k++)
                        {
                            var chunk = chunks[start + k];
                            var compressed = frames[k];
                            frames[k] = default;
                            try
                            {
                                var (length, checksum) = WriteFrame(data, chunk, compressed);
                                layouts[chunk.Tensor].Add(new ChunkLayout(dataLength, length, chunk.Length, checksum));
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
                            ReturnFrames(t.GetAwaiter().GetResult());
                        }
                        catch (Exception)
                        {
                            // The first failure is already on its way to the caller.
                        }
                    }
                }

                FaultInjector.Hit("save.data.before-flush");
                staging.Seal(data);
            }
        }
        finally
        {
            // Every chunk is on disk or abandoned: a detached copy is no longer needed.
            foreach (var tensor in state.Tensors)
            {
                tensor.ReleaseCopy();
            }
        }

        var tensors = new TensorLayout[state.Tensors.Count];
        for (var i = 0; i < tensors.Length; i++)
        {
            tensors[i] = new TensorLayout
            {
                DType = state.Tensors[i].DType,
                Shape = state.Tensors[i].Shape,
                Filter = filters[i] == ChunkFilter.Shuffle ? "shuffle" : "none",
                Chunks = layouts[i].ToArray(),
            };
        }

        var manifestJson = ManifestCodec.Write(step, saveId, createdUtc, state, tensors, dataLength);
        // Rented: a manifest of many small leaves is megabytes, and the next save reuses the same frame.
        var frame = ArrayPool<byte>.Shared.Rent(Lz4Frame.MaxFrameLength(manifestJson.Length));
        try
        {
            var frameLength = Lz4Frame.Encode(manifestJson.Span, frame);
            FaultInjector.Hit("save.manifest.before-write");
            using (var manifest = staging.CreateFile(StepFormat.ManifestFile, 0))
            {
                manifest.Write(frame, 0, frameLength);
                staging.Seal(manifest);
            }

            FaultInjector.Hit("save.manifest.written");
            staging.SyncFolder();
            return new WrittenStep
            {
                Tensors = tensors,
                StoredSize = dataLength + frameLength,
                ManifestHash = ManifestHashOf(frame.AsSpan(0, frameLength)),
            };
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(frame);
        }
    }

    /// <summary>The hash the index keeps of a manifest file, to detect an index and a step that disagree.</summary>
    public static string ManifestHashOf(ReadOnlySpan<byte> manifestFile) =>
        XXH64.DigestOf(manifestFile).ToString("x16", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// Copies one chunk out of the tensor, then compresses the copy into a pooled frame buffer, or, when
    /// a probe of its first bytes shows they do not compress, keeps the copy to write as a stored frame.
    /// Every later step — probing, compressing, checksumming, writing — reads the copy, never the
    /// caller's array again: a caller that changes the array during a synchronous save then gets a
    /// step holding some mix of old and new values, but one whose checksums match the bytes written.
    /// </summary>
    private static Frame Compress(Chunk chunk)
    {
        var copy = Buffers.Rent(chunk.Length);
        byte[]? buffer = null;
        byte[]? shuffled = null;
        try
        {
            chunk.Source.Bytes(chunk.Offset, chunk.Length).CopyTo(copy);
            ReadOnlySpan<byte> raw = copy.AsSpan(0, chunk.Length);
            if (chunk.Filter == ChunkFilter.None && LooksIncompressible(raw))
            {
                var stored = new Frame(copy, Lz4Frame.StoredFrameLength(chunk.Length), XxHash32.DigestOf(raw), IsStoredCopy: true);
                copy = null;
                return stored;
            }

            buffer = Buffers.Rent(Lz4Frame.MaxFrameLength(chunk.Length));
            if (chunk.Filter == ChunkFilter.Shuffle)
            {
                shuffled = Buffers.Rent(chunk.Length);
                ByteShuffle.Shuffle(raw, shuffled.AsSpan(0, chunk.Length), chunk.Source.ElementSize);
                raw = shuffled.AsSpan(0, chunk.Length);
            }

            var frame = new Frame(buffer, Lz4Frame.Encode(raw, buffer), 0, IsStoredCopy: false);
            buffer = null;
            return frame;
        }
        finally
        {
            foreach (var pooled in new[] { copy, buffer, shuffled })
            {
                if (pooled is not null)
                {
                    Buffers.Return(pooled);
                }
            }
        }
    }

    /// <summary>
    /// Groups the chunks into units of work in order: a chunk of <see cref="BatchBytes"/> or more alone,
    /// smaller ones together up to about <see cref="BatchBytes"/>.
    /// </summary>
    private static List<(int First, int Count)> PlanBatches(List<Chunk> chunks)
    {
        var batches = new List<(int First, int Count)>();
        var i = 0;
        while (i < chunks.Count)
        {
            var first = i;
            long bytes = chunks[i++].Length;
            while (i < chunks.Count && bytes < BatchBytes && chunks[i].Length < BatchBytes)
            {
                bytes += chunks[i++].Length;
            }

            batches.Add((first, i - first));
        }

        return batches;
    }

    /// <summary>Compresses chunks [first, first + count) in order; on failure returns the buffers of those already done.</summary>
    private static Frame[] CompressBatch(List<Chunk> chunks, int first, int count)
    {
        var frames = new Frame[count];
        try
        {
            for (var k = 0; k < count; k++)
            {
                frames[k] = Compress(chunks[first + k]);
            }

            return frames;
        }
        catch
        {
            ReturnFrames(frames);
            throw;
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

    /// <summary>Appends a chunk's frame; returns its length and its content checksum (the frame's last four bytes).</summary>
    private static (int Length, uint Checksum) WriteFrame(Stream data, Chunk chunk, Frame frame)
    {
        try
        {
            if (!frame.IsStoredCopy)
            {
                data.Write(frame.Buffer, 0, frame.Length);
                return (frame.Length, BinaryPrimitives.ReadUInt32LittleEndian(frame.Buffer.AsSpan(frame.Length - 4, 4)));
            }

            Span<byte> prefix = stackalloc byte[Lz4Frame.StoredPrefixLength];
            Span<byte> trailer = stackalloc byte[Lz4Frame.StoredTrailerLength];
            Lz4Frame.WriteStoredPrefix(prefix, chunk.Length);
            Lz4Frame.WriteStoredTrailer(trailer, frame.StoredChecksum);
            data.Write(prefix);
            data.Write(frame.Buffer, 0, chunk.Length);
            data.Write(trailer);
            return (frame.Length, frame.StoredChecksum);
        }
        finally
        {
            Buffers.Return(frame.Buffer);
        }
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
    /// Tensors are sampled in parallel; a 64 KiB sample costs far less than the chunks it decides.
    /// </summary>
    private static ChunkFilter[] ChooseFilters(IReadOnlyList<TensorSource> tensors)
    {
        var filters = new ChunkFilter[tensors.Count];
        if (tensors.Count < 16)
        {
            for (var i = 0; i < filters.Length; i++)
            {
                filters[i] = ChooseFilter(tensors[i]);
            }
        }
        else
        {
            Parallel.For(0, tensors.Count, new ParallelOptions { MaxDegreeOfParallelism = Environment.ProcessorCount },
                i => filters[i] = ChooseFilter(tensors[i]));
        }

        return filters;
    }

    private static ChunkFilter ChooseFilter(TensorSource source)
    {
        if (!ByteShuffle.Supports(source.ElementSize) || source.ByteLength < MinShuffleBytes)
        {
            return ChunkFilter.None;
        }

        var length = (int)Math.Min(SampleBytes, source.ByteLength);
        var sample = source.Bytes(0, length);
        var output = Buffers.Rent(LZ4Codec.MaximumOutputSize(length));
        var shuffled = Buffers.Rent(length);
        try
        {
            // A block that does not compress is stored raw, so its cost is its length.
            var plain = LZ4Codec.Encode(sample, output);
            plain = plain <= 0 ? length : Math.Min(plain, length);
            ByteShuffle.Shuffle(sample, shuffled.AsSpan(0, length), source.ElementSize);
            var filtered = LZ4Codec.Encode(shuffled.AsSpan(0, length), output);
            filtered = filtered <= 0 ? length : Math.Min(filtered, length);
            return filtered * 10L <= plain * 9L ? ChunkFilter.Shuffle : ChunkFilter.None;
        }
        finally
        {
            Buffers.Return(output);
            Buffers.Return(shuffled);
        }
    }

    private static List<Chunk> PlanChunks(IReadOnlyList<TensorSource> tensors, ChunkFilter[] filters)
    {
        var chunks = new List<Chunk>();
        for (var t = 0; t < tensors.Count; t++)
        {
            var source = tensors[t];
            for (long offset = 0; offset < source.ByteLength; offset += Lz4Frame.BlockSize)
            {
                chunks.Add(new Chunk(t, source, offset, (int)Math.Min(Lz4Frame.BlockSize, source.ByteLength - offset), filters[t]));
            }
        }

        return chunks;
    }

    private enum ChunkFilter
    {
        None,
        Shuffle,
    }

    /// <summary>
    /// A compressed frame in a pooled buffer, or (<paramref name="IsStoredCopy"/>) a private copy of a
    /// chunk to write as a stored frame with the checksum computed from that same copy.
    /// </summary>
    private readonly record struct Frame(byte[] Buffer, int Length, uint StoredChecksum, bool IsStoredCopy);

    private readonly record struct Chunk(int Tensor, TensorSource Source, long Offset, int Length, ChunkFilter Filter);
}
