using System.Buffers.Binary;
using System.Buffers;
using System.Collections.Concurrent;
using System.Reflection;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using System.Runtime.InteropServices;
using DataraxCkpt.Faults;
using DataraxCkpt.Storage;
using DataraxCkpt.Values;

namespace DataraxCkpt.Format;

/// <summary>
/// The format reader: opens a step's files, checks the manifest against the index and against the
/// data file, and decodes tensors straight into their destination arrays, chunks in parallel, each
/// chunk's checksum verified. Every check that fails raises <see cref="InvalidDataException"/>
/// naming what failed; nothing unchecked is allocated or returned. A step of a newer format raises
/// <see cref="NewerFormatException"/> instead: it is not corrupt, only unreadable here.
/// </summary>
internal sealed class StepReader : IDisposable
{
    private static readonly ArrayPool<byte> Buffers = ArrayPool<byte>.Create(Lz4Frame.MaxFrameLength(Lz4Frame.BlockSize), 64);
    private static readonly ConcurrentDictionary<Type, Func<int, Array>> UninitializedArrays = new();

    /// <summary>Bytes decoded between two progress reports (fewer only at the end).</summary>
    private const long ReportBytes = 16L << 20;

    /// <summary>Bytes of one batch of a source read one chunk per group (remote data); see DecodeAll.</summary>
    private const long BatchBytes = 32L << 20;

    /// <summary>Below this many bytes a restore (or a batch) is decoded on the calling thread.</summary>
    private const long ParallelBytes = 1L << 20;

    private readonly IStepData _data;

    private StepReader(IStepData data, StepManifest manifest)
    {
        _data = data;
        Manifest = manifest;
    }

    public StepManifest Manifest { get; }

    /// <summary>Opens and validates a step folder.</summary>
    /// <param name="folders">The directory's file seam.</param>
    /// <param name="folder">The step folder (committed or staged).</param>
    /// <param name="step">The step the folder must hold.</param>
    /// <param name="expectedManifestHash">The hash the index recorded, or null when there is no index row.</param>
    public static StepReader Open(StepFolders folders, string folder, long step, string? expectedManifestHash)
    {
        var files = folders.OpenStep(folder);
        return Open(files.ManifestFile, new FileStepData(files), step, expectedManifestHash);
    }

    /// <summary>Opens and validates a step from its manifest bytes and a random-access source of its data (a file, a blob); takes ownership of <paramref name="data"/>.</summary>
    public static StepReader Open(byte[] manifestFile, IStepData data, long step, string? expectedManifestHash)
    {
        try
        {
            if (expectedManifestHash is not null && StepWriter.ManifestHashOf(manifestFile) != expectedManifestHash)
            {
                throw new InvalidDataException("the index and the step's manifest disagree (the index or the step folder was altered or replaced)");
            }

            var manifest = ParseManifestFile(manifestFile, data.Length);
            if (manifest.Step != step)
            {
                manifest.Dispose();
                throw new InvalidDataException($"the folder holds step {manifest.Step}, not step {step} (was it copied from elsewhere?)");
            }

            return new StepReader(data, manifest);
        }
        catch
        {
            data.Dispose();
            throw;
        }
    }

    /// <summary>Decodes and validates a manifest file's bytes.</summary>
    /// <param name="manifestFile">The bytes of <c>manifest.json.lz4</c>.</param>
    /// <param name="dataLength">Length of the step's data file.</param>
    /// <param name="allowNewer">See <see cref="ManifestCodec.Parse"/>.</param>
    /// <exception cref="NewerFormatException">The step is of a newer format and <paramref name="allowNewer"/> is false.</exception>
    public static StepManifest ParseManifestFile(byte[] manifestFile, long dataLength, bool allowNewer = false)
    {
        var size = Lz4Frame.ReadContentSize(manifestFile);
        if (size > StepFormat.MaxManifestBytes)
        {
            throw new InvalidDataException($"manifest claims {size} bytes, beyond the limit of {StepFormat.MaxManifestBytes}");
        }

        // A pooled buffer, which the manifest returns when it is disposed; on an error it is left to the collector.
        var json = System.Buffers.ArrayPool<byte>.Shared.Rent((int)size);
        var text = json.AsMemory(0, (int)size);
        try
        {
            Lz4Frame.Decode(manifestFile, text.Span);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"{StepFormat.ManifestFile}: {e.Message}", e);
        }

        var manifest = ManifestCodec.Parse(text, dataLength, allowNewer);
        if (json.Length > 0)
        {
            manifest.ReturnOnDispose(json);
        }

        return manifest;
    }

    /// <summary>Loads tensor <paramref name="index"/> as <paramref name="containerType"/> (an array type or Tensor&lt;T&gt;).</summary>
    public object LoadTensor(int index, Type containerType, string itemName, Action<long>? onBytesRead)
    {
        var pending = new List<TensorDestination>(1);
        var value = AllocateTensor(index, containerType, itemName, pending);
        DecodeAll(pending, onBytesRead);
        return value;
    }

    /// <summary>
    /// Allocates tensor <paramref name="index"/> as <paramref name="containerType"/> without reading it and
    /// adds its destination to <paramref name="pending"/>; the value holds no data until
    /// <see cref="DecodeAll"/> has run over <paramref name="pending"/> (and must be dropped if it fails).
    /// </summary>
    public object AllocateTensor(int index, Type containerType, string itemName, List<TensorDestination> pending)
    {
        var (layout, elementType, isTensor) = CheckTensorReference(index, containerType, itemName);
        var count = checked((int)(layout.RawLength / TypeCodes.ElementSize(elementType)));
        if (ListTensors.IsNumericList(containerType, out _))
        {
            // Written in place through the list's backing array; its Count is set up front.
            var list = ListTensors.NewList(elementType, count);
            pending.Add(TensorDestination.ForList(layout, elementType, itemName, list));
            return list;
        }

        if (ListTensors.IsBoxedContainer(containerType))
        {
            // The elements are decoded into an array, then boxed into the container once every chunk is read.
            var data = NewVector(elementType, count);
            var boxed = ListTensors.NewBoxed(containerType, count);
            pending.Add(TensorDestination.ForArray(layout, elementType, itemName, data, () => ListTensors.Box(data, boxed)));
            return boxed;
        }

        // Uninitialised where the runtime allows it (vectors): every byte is written by DecodeAll, and a
        // failure drops the array unseen, so no caller ever sees its old contents.
        var array = isTensor || layout.Shape.Length <= 1
            ? NewVector(elementType, checked((int)(layout.RawLength / TypeCodes.ElementSize(elementType))))
            : Array.CreateInstance(elementType, layout.Shape.Select(d => checked((int)d)).ToArray());
        pending.Add(TensorDestination.ForArray(layout, elementType, itemName, array));
        return isTensor ? TensorInterop.Build(array, layout.Shape, elementType) : array;
    }

    /// <summary>
    /// An empty value of the type <see cref="AllocateTensor"/> would return for tensor <paramref name="index"/>,
    /// after the same checks, for Verify's decode of the state tree (the bytes are VerifyAll's to check). It is of
    /// the restored type because a typed list (List&lt;float[]&gt;) takes only its element type: a stand-in of any
    /// other type would have a valid step reported damaged, and users delete steps Verify calls damaged.
    /// </summary>
    public object StandIn(int index, Type containerType, string itemName)
    {
        var (layout, elementType, isTensor) = CheckTensorReference(index, containerType, itemName);
        if (ListTensors.IsNumericList(containerType, out _))
        {
            return ListTensors.NewList(elementType, 0);
        }

        if (ListTensors.IsBoxedContainer(containerType))
        {
            return ListTensors.NewBoxed(containerType, 0);
        }

        var array = isTensor || layout.Shape.Length <= 1 ? Array.CreateInstance(elementType, 0) : Array.CreateInstance(elementType, new int[layout.Shape.Length]);
        return isTensor ? TensorInterop.Build(array, [0], elementType) : array;
    }

    /// <summary>
    /// The destination for restoring tensor <paramref name="index"/> into <paramref name="target"/>, an
    /// existing array or dense Tensor&lt;T&gt;, after checking that its element type and shape are the stored
    /// ones. Nothing is written here.
    /// </summary>
    /// <exception cref="IncompatibleStateException">The target's element type or shape differs from the stored tensor's.</exception>
    public TensorDestination DestinationIn(int index, object? target, string itemName)
    {
        if ((uint)index >= (uint)Manifest.Tensors.Count)
        {
            throw new InvalidDataException($"item '{itemName}' refers to tensor {index}, which the manifest does not have");
        }

        var layout = Manifest.Tensors[index];
        var elementType = TypeCodes.TryResolveDType(layout.DType)!;
        var stored = $"a {layout.DType} tensor of shape {ShapeText(layout.Shape)}";
        var type = target?.GetType();
        if (type is not null && TypeCodes.IsTensorType(type, out var tensorElement))
        {
            var shape = TensorInterop.ShapeOf(target!, tensorElement);
            if (tensorElement != elementType || !SameShape(layout.Shape, shape))
            {
                throw new IncompatibleStateException(itemName, stored, $"a Tensor<{tensorElement.Name}> of shape {ShapeText(shape)}");
            }

            if (!TensorInterop.IsRowMajorDense(target!, tensorElement))
            {
                throw new IncompatibleStateException(itemName, stored, "a tensor whose elements are not dense and row-major (a slice or a broadcast view)");
            }

            return TensorDestination.ForTensor(layout, elementType, itemName, target!);
        }

        if (target is System.Collections.IList list && ListTensors.IsNumericList(list.GetType(), out var listElement))
        {
            // Filled in place: the same element type and Count, a stored vector.
            if (listElement != elementType || layout.Shape.Length != 1 || layout.Shape[0] != list.Count)
            {
                throw new IncompatibleStateException(itemName, stored, $"a List<{listElement.Name}> of {list.Count} elements");
            }

            return TensorDestination.ForList(layout, elementType, itemName, list);
        }

        if (target is Array array)
        {
            var lengths = new long[array.Rank];
            for (var d = 0; d < lengths.Length; d++)
            {
                lengths[d] = array.GetLength(d);
            }

            if (array.GetType().GetElementType() != elementType || !SameShape(layout.Shape, lengths))
            {
                throw new IncompatibleStateException(itemName, stored, $"a {array.GetType().GetElementType()!.Name}[{new string(',', array.Rank - 1)}] of shape {ShapeText(lengths)}");
            }

            return TensorDestination.ForArray(layout, elementType, itemName, array);
        }

        throw new IncompatibleStateException(itemName, stored, target is null ? "null" : $"a {type!.Name}");
    }

    // A rank-0 tensor is restored as a one-element vector, so that is the array it fits.
    private static bool SameShape(long[] stored, long[] target) =>
        stored.Length == 0 ? target.Length == 1 && target[0] == 1 : stored.AsSpan().SequenceEqual(target);

    private static string ShapeText(long[] shape) => "[" + string.Join(", ", shape) + "]";

    /// <summary>
    /// The checks LoadTensor makes before reading any byte: the tensor exists and fits the declared
    /// container. Verify runs them for every tensor node without loading the data again.
    /// </summary>
    /// <exception cref="InvalidDataException">The reference or the container does not fit.</exception>
    public (TensorLayout Layout, Type ElementType, bool IsTensor) CheckTensorReference(int index, Type containerType, string itemName)
    {
        if ((uint)index >= (uint)Manifest.Tensors.Count)
        {
            throw new InvalidDataException($"item '{itemName}' refers to tensor {index}, which the manifest does not have");
        }

        var layout = Manifest.Tensors[index];
        var elementType = TypeCodes.TryResolveDType(layout.DType)!;
        var isTensor = TypeCodes.IsTensorType(containerType, out var tensorElement);
        if (ListTensors.IsNumericList(containerType, out var listElement) || ListTensors.IsBoxedContainer(containerType))
        {
            // A list is a vector (docs/format.md §6.5); a List<T> holds the stored dtype itself.
            if (layout.Shape.Length != 1 || (listElement != typeof(void) && listElement != elementType))
            {
                throw new InvalidDataException($"item '{itemName}' declares container {TypeCodes.TryGetCode(containerType)} for a {layout.DType} tensor of rank {layout.Shape.Length}");
            }

            return (layout, elementType, false);
        }

        if (isTensor ? tensorElement != elementType
            : !containerType.IsArray || containerType.GetElementType() != elementType || containerType.GetArrayRank() != Math.Max(1, layout.Shape.Length)
              || (layout.Shape.Length == 1) != containerType.IsSZArray)
        {
            throw new InvalidDataException($"item '{itemName}' declares container {containerType.Name} for a {layout.DType} tensor of rank {layout.Shape.Length}");
        }

        return (layout, elementType, isTensor);
    }

    /// <summary>Decodes every chunk of every tensor and reports each one that fails.</summary>
    public List<ItemProblem> VerifyAll(CancellationToken cancellationToken = default)
    {
        var problems = new ConcurrentBag<ItemProblem>();
        var names = new string[Manifest.Tensors.Count];
        IReadOnlyList<StoredItem> items;
        try
        {
            items = Manifest.Items;
        }
        catch (InvalidDataException)
        {
            // A malformed state node is reported by the tree check; the chunks are still checked, by tensor number.
            items = [];
        }

        foreach (var item in items)
        {
            if (item.TensorIndex >= 0)
            {
                names[item.TensorIndex] = item.Name;
            }
        }

        // A filter not defined for the tensor's dtype (a hostile manifest) is that tensor's problem, reported like a
        // failing chunk; its chunks cannot be decoded and are left out.
        var filterCodes = new int?[Manifest.Tensors.Count];
        for (var i = 0; i < filterCodes.Length; i++)
        {
            try
            {
                filterCodes[i] = FilterCode(Manifest.Tensors[i]);
            }
            catch (InvalidDataException e)
            {
                problems.Add(new ItemProblem(names[i] ?? $"tensor {i}", e.Message));
            }
        }

        var work = Manifest.Tensors.SelectMany((t, i) => filterCodes[i] is { } code ? t.Chunks.Select(c => (Tensor: i, Chunk: c, Filter: code)) : [])
            .ToArray();
        try
        {
            Parallel.ForEach(work, new ParallelOptions { MaxDegreeOfParallelism = _data.ReadParallelism, CancellationToken = cancellationToken }, w =>
            {
                var scratch = Buffers.Rent(w.Chunk.RawLength);
                try
                {
                    DecodeFiltered(w.Chunk, scratch.AsSpan(0, w.Chunk.RawLength), w.Filter);
                }
                catch (InvalidDataException e)
                {
                    problems.Add(new ItemProblem(names[w.Tensor] ?? $"tensor {w.Tensor}", $"chunk at offset {w.Chunk.Offset}: {e.Message}"));
                }
                finally
                {
                    Buffers.Return(scratch);
                }
            });
        }
        catch (AggregateException e) when (e.InnerExceptions.Count > 0)
        {
            // A read the disk failed is no finding of the step: it is raised as the restore raises it (the first failure
            // as it was thrown), not wrapped, which a caller's catch of IOException would miss (Test-Checkpoint stopped
            // with a terminating AggregateException until session 21).
            ExceptionDispatchInfo.Throw(e.InnerExceptions[0]);
        }
        return problems.OrderBy(p => p.Item, StringComparer.Ordinal).ToList();
    }

    /// <summary>
    /// Decodes every chunk of every destination's tensor, on all cores at once, then normalises restored bools.
    /// The chunks form one queue of groups (consecutive stored chunks go together, so one thread reads them and
    /// hashes them side by side); the calling thread and up to <see cref="IStepData.ReadParallelism"/> − 1 pool
    /// threads each take the next group as they finish the last, so a late thread never holds up the others
    /// (remote data, one chunk per group, goes in batches of such queues: see the comment inside).
    /// Progress is reported, and <paramref name="onBytesRead"/>'s exceptions raised, on the calling thread as
    /// groups complete; every thread checks <paramref name="cancellationToken"/> before it starts a group. A
    /// restore too small to be worth parallel work is decoded on the calling thread.
    /// </summary>
    /// <exception cref="InvalidDataException">A chunk failed a check; the message names its item. Destinations
    /// may then hold a mix of decoded and earlier bytes. No thread writes into them once this has returned or thrown.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled before the last group.</exception>
    public void DecodeAll(IReadOnlyList<TensorDestination> destinations, Action<long>? onBytesRead, CancellationToken cancellationToken = default)
    {
        var work = new List<(TensorDestination Destination, ChunkLayout Chunk, long At, int ElementSize)>();
        foreach (var destination in destinations)
        {
            var layout = destination.Layout;
            int elementSize;
            try
            {
                elementSize = FilterCode(layout);
            }
            catch (InvalidDataException e)
            {
                throw new InvalidDataException($"item '{destination.ItemName}': {e.Message}", e);
            }

            long at = 0;
            foreach (var chunk in layout.Chunks)
            {
                work.Add((destination, chunk, at, elementSize));
                at += chunk.RawLength;
            }
        }

        // Locally up to four consecutive stored chunks per group (hashed side by side); remotely one chunk per
        // group, so that every read in flight is its own request.
        var perGroup = Math.Clamp(_data.StoredChunksPerRead, 1, StoredChunkGroup.Capacity);
        var groups = new List<ChunkRun>();
        for (var i = 0; i < work.Count;)
        {
            var count = 1;
            if (IsStoredCandidate(work[i].Chunk, work[i].ElementSize))
            {
                while (count < perGroup && i + count < work.Count && IsStoredCandidate(work[i + count].Chunk, work[i + count].ElementSize))
                {
                    count++;
                }
            }

            long bytes = 0;
            for (var k = i; k < i + count; k++)
            {
                bytes += work[k].Chunk.RawLength;
            }

            groups.Add(new ChunkRun(i, count, bytes));
            i += count;
        }

        // Remote data (many requests in flight, no lock against another host) still goes in batches with a
        // wait at the end of each: a progress callback between two batches runs while no read is in flight,
        // and the reads after it see the store as it then is (a step removed or replaced by another host during
        // the callback is found by them, and read again whole). A batch keeps every read in flight busy (a group is
        // one ranged read). Local data is one queue: no thread waits for another.
        var batchBytes = _data.ReadsInBatches ? Math.Max(BatchBytes, _data.ReadParallelism * (long)Lz4Frame.BlockSize * perGroup) : long.MaxValue;
        for (var start = 0; start < groups.Count;)
        {
            var end = start;
            long bytes = 0;
            while (end < groups.Count && (end == start || bytes < batchBytes))
            {
                bytes += groups[end++].Bytes;
            }

            var batch = start == 0 && end == groups.Count ? groups : groups.GetRange(start, end - start);
            var threads = Math.Min(_data.ReadParallelism, batch.Count);
            if (bytes < ParallelBytes || threads <= 1)
            {
                // Small tensors are the common case in a big parameter tree: starting parallel work for a few
                // small chunks costs more than decoding them.
                DecodeInOrder(work, batch, onBytesRead, cancellationToken);
            }
            else
            {
                new ChunkQueue(this, work, batch, cancellationToken).Run(threads, onBytesRead);
            }

            start = end;
        }

        foreach (var destination in destinations)
        {
            if (destination.ElementType == typeof(bool))
            {
                BooleanBytes.Normalise(destination.Bytes(0, checked((int)destination.Layout.RawLength)));
            }

            destination.Complete?.Invoke();
        }
    }

    /// <summary>Consecutive entries of DecodeAll's work list decoded by one thread, and their raw bytes.</summary>
    private readonly record struct ChunkRun(int First, int Count, long Bytes);

    private void DecodeInOrder(List<(TensorDestination Destination, ChunkLayout Chunk, long At, int ElementSize)> work, List<ChunkRun> groups,
        Action<long>? onBytesRead, CancellationToken cancellationToken)
    {
        long pending = 0;
        for (var g = 0; g < groups.Count; g++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            DecodeGroup(work, groups[g].First, groups[g].Count);
            pending += groups[g].Bytes;
            if (pending >= ReportBytes || g == groups.Count - 1)
            {
                onBytesRead?.Invoke(pending);
                pending = 0;
            }
        }
    }

    /// <summary>
    /// DecodeAll's parallel part: a queue of chunk groups that the calling thread and pool threads take from
    /// one at a time. The calling thread also reports the bytes the others post and, on the first failure
    /// (a chunk's, the progress callback's, a cancellation), stops the queue and waits until no thread is
    /// inside a group before it throws, so nothing writes into a destination after DecodeAll has returned.
    /// </summary>
    private sealed class ChunkQueue
    {
        private readonly StepReader _reader;
        private readonly List<(TensorDestination Destination, ChunkLayout Chunk, long At, int ElementSize)> _work;
        private readonly List<ChunkRun> _groups;
        private readonly CancellationToken _cancellationToken;
        // Released once per group taken from the queue, whether decoded or skipped after a failure.
        private readonly SemaphoreSlim _finished = new(0);
        private int _next;
        private long _doneBytes;
        private volatile bool _stop;
        private ExceptionDispatchInfo? _failure;

        public ChunkQueue(StepReader reader, List<(TensorDestination Destination, ChunkLayout Chunk, long At, int ElementSize)> work,
            List<ChunkRun> groups, CancellationToken cancellationToken)
        {
            _reader = reader;
            _work = work;
            _groups = groups;
            _cancellationToken = cancellationToken;
        }

        public void Run(int threads, Action<long>? onBytesRead)
        {
            for (var t = 1; t < threads; t++)
            {
                // A pool thread that starts only after the queue is empty (a busy pool) takes nothing and ends.
                ThreadPool.UnsafeQueueUserWorkItem(static queue => queue.Work(), this, preferLocal: false);
            }

            long unreported = 0;
            var seen = 0;
            // The calling thread decodes too (a pool with no thread free still finishes), reporting between groups.
            while (!_stop && TakeAndDecode())
            {
                seen += Drain(ref unreported);
                Report(onBytesRead, ref unreported, seen == _groups.Count);
            }

            // The queue is empty (or stopped): every group taken before the stop is decoded or skipped by its
            // taker; wait for those still running, reporting as they finish.
            var taken = StopTaking();
            while (seen < taken)
            {
                _finished.Wait();
                seen += 1 + Drain(ref unreported);
                if (!_stop)
                {
                    Report(onBytesRead, ref unreported, seen == _groups.Count);
                }
            }

            _failure?.Throw();
            if (_stop)
            {
                // Stopped without a failure recorded: only a cancellation skips groups.
                _cancellationToken.ThrowIfCancellationRequested();
            }
        }

        private void Report(Action<long>? onBytesRead, ref long unreported, bool last)
        {
            if (unreported == 0 || (unreported < ReportBytes && !last))
            {
                return;
            }

            try
            {
                onBytesRead?.Invoke(unreported);
                unreported = 0;
            }
            catch (Exception e)
            {
                Fail(e);
            }
        }

        // Counts the completions posted so far (without waiting) and moves their bytes to the caller's count.
        private int Drain(ref long unreported)
        {
            var count = 0;
            while (_finished.Wait(0))
            {
                count++;
            }

            unreported += Interlocked.Exchange(ref _doneBytes, 0);
            return count;
        }

        // How many groups were taken from the queue; none is taken after this.
        private int StopTaking() => Math.Min(Interlocked.Exchange(ref _next, _groups.Count), _groups.Count);

        private void Work()
        {
            while (!_stop && TakeAndDecode())
            {
            }
        }

        // Takes the next group and decodes it (or skips it once the queue is stopping); false when none is left.
        private bool TakeAndDecode()
        {
            var g = Interlocked.Increment(ref _next) - 1;
            if (g >= _groups.Count)
            {
                return false;
            }

            try
            {
                if (_cancellationToken.IsCancellationRequested)
                {
                    _stop = true;
                }

                if (!_stop)
                {
                    _reader.DecodeGroup(_work, _groups[g].First, _groups[g].Count);
                    Interlocked.Add(ref _doneBytes, _groups[g].Bytes);
                }
            }
            catch (Exception e)
            {
                Fail(e);
            }
            finally
            {
                _finished.Release();
            }

            return true;
        }

        private void Fail(Exception e)
        {
            // The first failure is the one reported (as Parallel.For's first inner exception was); the others stop.
            Interlocked.CompareExchange(ref _failure, ExceptionDispatchInfo.Capture(e), null);
            _stop = true;
        }
    }

    // A chunk whose frame length is that of one stored block, not shuffled: read straight into place.
    internal static bool IsStoredCandidate(ChunkLayout chunk, int elementSize) =>
        elementSize == 0 && chunk.RawLength > 0 && chunk.RawLength <= Lz4Frame.BlockSize && chunk.StoredLength == Lz4Frame.StoredFrameLength(chunk.RawLength);

    private void DecodeGroup(List<(TensorDestination Destination, ChunkLayout Chunk, long At, int ElementSize)> work, int first, int count)
    {
        if (count == 1)
        {
            DecodeWork(work[first].Destination, work[first].Chunk, work[first].At, work[first].ElementSize);
        }
        else
        {
            DecodeStoredGroup(work, first, count);
        }

        for (var k = 0; k < count; k++)
        {
            FaultInjector.Hit("restore.chunk-decoded");
        }
    }

    private void DecodeStoredGroup(List<(TensorDestination Destination, ChunkLayout Chunk, long At, int ElementSize)> work, int first, int count)
    {
        var group = default(StoredChunkGroup);
        for (var k = 0; k < count; k++)
        {
            var (destination, chunk, at, _) = work[first + k];
            group.Add(this, chunk, destination.Bytes(at, chunk.RawLength), destination.ItemName);
        }

        ReadStoredGroup(ref group);
    }

    /// <summary>How many stored chunks one thread should read as a group (1 to 4): see <see cref="IStepData.StoredChunksPerRead"/>.</summary>
    public int StoredChunksPerRead => Math.Clamp(_data.StoredChunksPerRead, 1, StoredChunkGroup.Capacity);

    /// <summary>
    /// Reads up to four stored chunks (of one step or of several) straight into their targets, then verifies
    /// their checksums side by side (<see cref="XxHash32.AppendFour"/>, several times the speed of one hash
    /// after another). Every chunk is checked before this returns; a chunk whose frame turns out not to be one
    /// stored block is decoded on its own, as <see cref="DecodeWork"/> always does. Restore and inspection
    /// both read stored chunks here. An <paramref name="observer"/> is handed each chunk's bytes a slice at a
    /// time as they are hashed (a chunk that had to be decoded as a frame is checked by that decode first,
    /// then handed over in slices all the same); the checks are the same and all made before this returns,
    /// and the observer learns of a failure only by the exception (see <see cref="IStoredSliceObserver"/>).
    /// </summary>
    /// <exception cref="InvalidDataException">A chunk fails a check; the message names its item. Targets may
    /// then hold a mix of read and earlier bytes.</exception>
    public static void ReadStoredGroup(scoped ref StoredChunkGroup group, IStoredSliceObserver? observer = null)
    {
        Span<byte> prefixes = stackalloc byte[StoredChunkGroup.Capacity * Lz4Frame.StoredPrefixLength];
        Span<byte> trailers = stackalloc byte[StoredChunkGroup.Capacity * Lz4Frame.StoredTrailerLength];
        Span<bool> hashed = stackalloc bool[StoredChunkGroup.Capacity];
        var h0 = new XxHash32(0);
        var h1 = new XxHash32(0);
        var h2 = new XxHash32(0);
        var h3 = new XxHash32(0);
        ReadOnlySpan<byte> d0 = default, d1 = default, d2 = default, d3 = default;
        for (var first = 0; first < group.Count;)
        {
            // A run of the group's chunks that lie end to end in one step's data is handed to its source as one
            // read: a remote source fetches it in block-sized ranges instead of one request per chunk.
            var reader = group.Reader(first);
            var run = 1;
            while (first + run < group.Count && group.Reader(first + run) == reader
                && group.Chunk(first + run - 1).Offset + Lz4Frame.StoredFrameLength(group.Target(first + run - 1).Length) == group.Chunk(first + run).Offset)
            {
                run++;
            }

            try
            {
                reader._data.ReadStoredFrames(ref group, first, run, prefixes, trailers);
            }
            catch (InvalidDataException) when (run > 1)
            {
                // The run failed somewhere: read its chunks again one at a time, so the error names the chunk
                // whose bytes are missing, not the first of the run. Should every chunk read now, go on.
                for (var k = first; k < first + run; k++)
                {
                    try
                    {
                        reader._data.ReadStoredFrames(ref group, k, 1, prefixes, trailers);
                    }
                    catch (InvalidDataException e)
                    {
                        throw StepOfFailure.Create(reader.Manifest.Step, $"item '{group.ItemName(k)}': {e.Message}", e);
                    }
                }
            }
            catch (InvalidDataException e)
            {
                throw StepOfFailure.Create(reader.Manifest.Step, $"item '{group.ItemName(first)}': {e.Message}", e);
            }

            for (var k = first; k < first + run; k++)
            {
                var chunk = group.Chunk(k);
                var target = group.Target(k);
                var trailer = trailers.Slice(k * Lz4Frame.StoredTrailerLength, Lz4Frame.StoredTrailerLength);
                try
                {
                    if (!Lz4Frame.IsStoredFrame(prefixes.Slice(k * Lz4Frame.StoredPrefixLength, Lz4Frame.StoredPrefixLength), chunk.StoredLength, chunk.RawLength))
                    {
                        // Not one stored block after all: the frame path writes the target again.
                        reader.DecodeChunk(chunk, target);
                        continue;
                    }

                    CheckBinding(chunk, trailer[^4..]);
                    Lz4Frame.CheckStoredEndMark(trailer);
                }
                catch (InvalidDataException e)
                {
                    throw StepOfFailure.Create(reader.Manifest.Step, $"item '{group.ItemName(k)}': {e.Message}", e);
                }

                hashed[k] = true;
                switch (k)
                {
                    case 0: d0 = target; break;
                    case 1: d1 = target; break;
                    case 2: d2 = target; break;
                    default: d3 = target; break;
                }
            }

            first += run;
        }

        if (observer is null)
        {
            XxHash32.AppendFour(ref h0, ref h1, ref h2, ref h3, d0, d1, d2, d3);
        }
        else
        {
            // Slice by slice, each hashed then observed while in cache. A slice length that is a multiple
            // of 16 leaves no partial stripe pending before a chunk's last slice, so the digests equal
            // those of one AppendFour over whole chunks.
            var size = observer.SliceLength;
            if (size <= 0 || size % 16 != 0)
            {
                throw new ArgumentException($"a slice of {size} bytes is not a positive multiple of 16", nameof(observer));
            }

            var longest = 0;
            for (var k = 0; k < group.Count; k++)
            {
                longest = Math.Max(longest, group.Target(k).Length);
            }

            for (var next = 0L; next < longest; next += size)
            {
                var at = (int)next;
                XxHash32.AppendFour(ref h0, ref h1, ref h2, ref h3, SliceOf(d0, at, size), SliceOf(d1, at, size), SliceOf(d2, at, size), SliceOf(d3, at, size));
                for (var k = 0; k < group.Count; k++)
                {
                    // A chunk decoded as a frame was not hashed here (its target is not among d0..d3): the
                    // frame path checked it, and the observer sees it all the same.
                    var slice = SliceOf(group.Target(k), at, size);
                    if (!slice.IsEmpty)
                    {
                        observer.Observe(k, at, slice);
                    }
                }
            }
        }

        for (var k = 0; k < group.Count; k++)
        {
            if (!hashed[k])
            {
                continue;
            }

            var digest = k switch { 0 => h0.Digest(), 1 => h1.Digest(), 2 => h2.Digest(), _ => h3.Digest() };
            try
            {
                Lz4Frame.CheckStoredChecksum(trailers.Slice(k * Lz4Frame.StoredTrailerLength, Lz4Frame.StoredTrailerLength), digest);
            }
            catch (InvalidDataException e)
            {
                throw StepOfFailure.Create(group.Reader(k).Manifest.Step, $"item '{group.ItemName(k)}': {e.Message}", e);
            }
        }
    }

    private static ReadOnlySpan<byte> SliceOf(ReadOnlySpan<byte> data, int at, int size) =>
        at >= data.Length ? default : data.Slice(at, Math.Min(size, data.Length - at));

    private void DecodeWork(TensorDestination destination, ChunkLayout chunk, long at, int elementSize)
    {
        var target = destination.Bytes(at, chunk.RawLength);
        try
        {
            DecodeFiltered(chunk, target, elementSize);
        }
        catch (InvalidDataException e)
        {
            throw new InvalidDataException($"item '{destination.ItemName}': {e.Message}", e);
        }
    }

    /// <summary>
    /// Decodes one chunk of one tensor into <paramref name="destination"/> (exactly the chunk's raw length),
    /// checksum-checked and un-shuffled: the way streaming readers (statistics, numeric diffs) see a tensor
    /// a chunk at a time without materialising it. Thread-safe, as the data file is read positionally.
    /// </summary>
    /// <exception cref="InvalidDataException">The chunk fails a check.</exception>
    public void DecodeChunkInto(int tensorIndex, int chunkIndex, Span<byte> destination)
    {
        var layout = Manifest.Tensors[tensorIndex];
        var chunk = layout.Chunks[chunkIndex];
        if (destination.Length != chunk.RawLength)
        {
            throw new ArgumentException($"the destination holds {destination.Length} bytes; the chunk decodes to {chunk.RawLength}", nameof(destination));
        }

        DecodeFiltered(chunk, destination, FilterCode(layout));
    }

    /// <summary>
    /// A tensor's filter as DecodeAll's work list carries it: 0 for <c>none</c>, the element size for
    /// <c>shuffle</c>, minus the element size for <c>planes</c>.
    /// </summary>
    /// <exception cref="InvalidDataException">The filter is not defined for the tensor's dtype.</exception>
    internal static int FilterCode(TensorLayout layout)
    {
        if (layout.Filter == "none")
        {
            return 0;
        }

        var elementSize = TypeCodes.ElementSize(TypeCodes.TryResolveDType(layout.DType)!);
        if (!ByteShuffle.Supports(elementSize))
        {
            throw new InvalidDataException($"the {layout.Filter} filter is not defined for {layout.DType}");
        }

        return layout.Filter == PlanePacking.Filter ? -elementSize : elementSize;
    }

    /// <summary>Decodes one chunk and undoes its filter (<see cref="FilterCode"/>) into <paramref name="destination"/>.</summary>
    private void DecodeFiltered(ChunkLayout chunk, Span<byte> destination, int filterCode)
    {
        if (filterCode == 0)
        {
            DecodeChunk(chunk, destination);
        }
        else if (filterCode > 0)
        {
            DecodeShuffledChunk(chunk, destination, filterCode);
        }
        else
        {
            DecodePlanesChunk(chunk, destination, -filterCode);
        }
    }

    /// <summary>
    /// A chunk of the <c>planes</c> filter: its frame holds either the plain shuffled bytes (content as long as the
    /// chunk) or packed planes (shorter), which are unpacked, every length and count checked, then unshuffled.
    /// </summary>
    private void DecodePlanesChunk(ChunkLayout chunk, Span<byte> destination, int elementSize)
    {
        if (chunk.StoredLength <= Lz4Frame.MinFrameOverhead || (ulong)chunk.RawLength > 2 * Lz4Frame.MaxContentLength(chunk.StoredLength))
        {
            throw new InvalidDataException($"the chunk at offset {chunk.Offset} declares {chunk.RawLength} raw bytes in a frame of {chunk.StoredLength} bytes");
        }

        var scratch = Buffers.Rent(chunk.RawLength);
        byte[]? frame = null;
        byte[]? content = null;
        try
        {
            var shuffled = scratch.AsSpan(0, chunk.RawLength);
            if (chunk.StoredLength == Lz4Frame.StoredFrameLength(chunk.RawLength) && TryReadStored(chunk, shuffled))
            {
                ByteShuffle.Unshuffle(shuffled, destination, elementSize);
                return;
            }

            frame = Buffers.Rent(chunk.StoredLength);
            var span = frame.AsSpan(0, chunk.StoredLength);
            ReadExactly(span, chunk.Offset);
            CheckBinding(chunk, span[^4..]);
            var size = Lz4Frame.ReadContentSize(span);
            if (size > chunk.RawLength)
            {
                throw new InvalidDataException($"the chunk at offset {chunk.Offset} holds {size} bytes of packed planes for {chunk.RawLength} raw bytes");
            }

            if (size == chunk.RawLength)
            {
                Lz4Frame.Decode(span, shuffled);
            }
            else
            {
                content = Buffers.Rent((int)size);
                var packed = content.AsSpan(0, (int)size);
                Lz4Frame.Decode(span, packed);
                try
                {
                    PlanePacking.Unpack(packed, shuffled, elementSize);
                }
                catch (InvalidDataException e)
                {
                    throw new InvalidDataException($"the chunk at offset {chunk.Offset}: {e.Message}", e);
                }
            }

            ByteShuffle.Unshuffle(shuffled, destination, elementSize);
        }
        finally
        {
            Buffers.Return(scratch);
            if (frame is not null)
            {
                Buffers.Return(frame);
            }

            if (content is not null)
            {
                Buffers.Return(content);
            }
        }
    }

    /// <summary>Shuffled bytes are decoded into a pooled chunk-sized scratch, then unshuffled into place.</summary>
    private void DecodeShuffledChunk(ChunkLayout chunk, Span<byte> destination, int elementSize)
    {
        var scratch = Buffers.Rent(chunk.RawLength);
        try
        {
            var shuffled = scratch.AsSpan(0, chunk.RawLength);
            DecodeChunk(chunk, shuffled);
            ByteShuffle.Unshuffle(shuffled, destination, elementSize);
        }
        finally
        {
            Buffers.Return(scratch);
        }
    }

    private void DecodeChunk(ChunkLayout chunk, Span<byte> destination)
    {
        // The manifest check already refused these; a second guard keeps a slice below from throwing
        // ArgumentOutOfRangeException, which would not be reported as corruption.
        if (chunk.StoredLength <= Lz4Frame.MinFrameOverhead || (ulong)chunk.RawLength > Lz4Frame.MaxContentLength(chunk.StoredLength))
        {
            throw new InvalidDataException($"the chunk at offset {chunk.Offset} declares {chunk.RawLength} raw bytes in a frame of {chunk.StoredLength} bytes");
        }

        if (chunk.StoredLength == Lz4Frame.StoredFrameLength(chunk.RawLength) && TryReadStored(chunk, destination))
        {
            return;
        }

        var frame = Buffers.Rent(chunk.StoredLength);
        try
        {
            var span = frame.AsSpan(0, chunk.StoredLength);
            ReadExactly(span, chunk.Offset);
            CheckBinding(chunk, span[^4..]);
            Lz4Frame.Decode(span, destination);
        }
        finally
        {
            Buffers.Return(frame);
        }
    }

    /// <summary>
    /// A chunk stored raw (bytes that did not compress) is read straight into its destination, skipping
    /// the copy through a frame buffer; false when the frame turns out not to be a single stored block.
    /// </summary>
    private bool TryReadStored(ChunkLayout chunk, Span<byte> destination)
    {
        Span<byte> prefix = stackalloc byte[Lz4Frame.StoredPrefixLength];
        Span<byte> trailer = stackalloc byte[Lz4Frame.StoredTrailerLength];
        // One read of the whole frame (one request remotely). The destination may be written before the
        // prefix is judged: when it is no stored frame after all, the frame path below writes it again.
        _data.ReadExactly(prefix, destination, trailer, chunk.Offset);
        if (!Lz4Frame.IsStoredFrame(prefix, chunk.StoredLength, destination.Length))
        {
            return false;
        }

        CheckBinding(chunk, trailer[^4..]);
        Lz4Frame.CheckStoredTrailer(trailer, destination);
        return true;
    }

    /// <summary>
    /// The frame must carry the checksum the manifest recorded for it, so a data file from another step
    /// (even one of the same length and layout) is refused instead of mixed into this step.
    /// </summary>
    private static void CheckBinding(ChunkLayout chunk, ReadOnlySpan<byte> frameChecksum)
    {
        if (BinaryPrimitives.ReadUInt32LittleEndian(frameChecksum) != chunk.Checksum)
        {
            throw new InvalidDataException($"the chunk at offset {chunk.Offset} is not the one the manifest recorded ({StepFormat.DataFile} belongs to another save?)");
        }
    }

    private void ReadExactly(Span<byte> target, long offset) => _data.ReadExactly(target, offset);

    private static Array NewVector(Type elementType, int length) =>
        UninitializedArrays.GetOrAdd(elementType, static t => typeof(StepReader)
            .GetMethod(nameof(Uninitialized), BindingFlags.NonPublic | BindingFlags.Static)!
            .MakeGenericMethod(t).CreateDelegate<Func<int, Array>>())(length);

    // Every byte is overwritten by decoding, so zeroing a large array first would be wasted work.
    private static Array Uninitialized<T>(int length) => GC.AllocateUninitializedArray<T>(length);

    public void Dispose()
    {
        Manifest.Dispose();
        _data.Dispose();
    }
}
