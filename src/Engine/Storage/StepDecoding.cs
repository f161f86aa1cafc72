using System.Collections.Specialized;
using System.Text.Json;
using DataraxCkpt.Format;
using DataraxCkpt.Values;

namespace DataraxCkpt.Storage;

/// <summary>
/// Turns an opened step (a <see cref="StepReader"/>, local or remote) into state, metadata, a verification or
/// a comparison, reporting what the reader finds wrong as <see cref="CorruptCheckpointException"/> naming the
/// item. One copy for every store, so a local directory and a remote one report damage alike.
/// </summary>
internal sealed class StepDecoding
{
    /// <summary>The item reported when a step's folder itself is missing or is not a real folder.</summary>
    internal const string StepFolderItem = "(step folder)";

    private readonly string _directory;
    private readonly Func<IReadOnlyDictionary<string, object?>, IReadOnlyDictionary<string, object?>>? _metadataView;

    /// <param name="directory">The store's location as errors show it.</param>
    /// <param name="metadataView">How decoded metadata is shown (<see cref="CheckpointOptions.MetadataView"/>).</param>
    public StepDecoding(string directory, Func<IReadOnlyDictionary<string, object?>, IReadOnlyDictionary<string, object?>>? metadataView = null)
    {
        _directory = directory;
        _metadataView = metadataView;
    }

    /// <summary>The state of an opened step (the items matching <paramref name="patterns"/> when given).</summary>
    public object? Decode(StepReader reader, long chosen, IReadOnlyCollection<string>? patterns, Action<long>? onBytesRead,
        Action<long, long>? onStart, CancellationToken cancellationToken)
    {
        var total = reader.Manifest.Tensors.Sum(t => t.RawLength);
        onStart?.Invoke(chosen, total);
        // Checked at each progress report; DecodeAll's threads also check the token before each group of chunks.
        Action<long> onBytes = bytes =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            onBytesRead?.Invoke(bytes);
        };
        // Tensors are allocated as the tree is decoded and all read afterwards in one parallel loop; on a
        // failure the tree, with its unfilled arrays, is dropped unseen.
        var pending = new List<TensorDestination>();
        var decoder = new StateDecoder((index, type, item) => CorruptOnFailure(chosen, item, () => reader.AllocateTensor(index, type, item, pending)));
        var state = CorruptOnFailure(chosen, null, () => patterns is null
            ? decoder.Decode(reader.Manifest.StateJson)
            : decoder.DecodeMatching(reader.Manifest.State, patterns, decoder.ItemsByUsableName(reader.Manifest.State, reader.Manifest.Items).Select(i => i.Name).ToList()));
        CorruptOnFailure(chosen, null, () =>
        {
            reader.DecodeAll(pending, onBytes, cancellationToken);
            return true;
        });
        // A cancellation asked for during the last progress report (the pool may have read everything while the calling
        // thread decoded its own group, so the first report is also the last) still stops the restore before it returns.
        cancellationToken.ThrowIfCancellationRequested();
        return state;
    }

    /// <summary>
    /// Decodes an opened step into <paramref name="template"/> in place (<see cref="StateDecoder.PlanInto"/>):
    /// every tensor is checked against the target's array first, then all are decoded straight into those
    /// arrays, then the containers take the other restored values.
    /// </summary>
    public void DecodeInto(StepReader reader, long chosen, object template, Action<long>? onBytesRead, Action<long, long>? onStart,
        CancellationToken cancellationToken)
    {
        onStart?.Invoke(chosen, reader.Manifest.Tensors.Sum(t => t.RawLength));
        Action<long> onBytes = bytes =>
        {
            cancellationToken.ThrowIfCancellationRequested();
            onBytesRead?.Invoke(bytes);
        };
        var pending = new List<TensorDestination>();
        var decoder = new StateDecoder((index, type, item) => CorruptOnFailure(chosen, item, () => reader.AllocateTensor(index, type, item, pending)));
        var plan = CorruptOnFailure(chosen, null, () => decoder.PlanInto(reader.Manifest.State, template,
            (index, target, item) => CorruptOnFailure(chosen, item, () => reader.DestinationIn(index, target, item)), pending));
        CorruptOnFailure(chosen, null, () =>
        {
            reader.DecodeAll(pending, onBytes, cancellationToken);
            return true;
        });
        // Before the containers change: a cancellation asked for during the last progress report leaves them as they were.
        cancellationToken.ThrowIfCancellationRequested();
        plan.Apply();
    }

    /// <summary>A step's metadata dictionary from its stored JSON, as records show it (through the options' metadata view).</summary>
    public IReadOnlyDictionary<string, object?> DecodeMetadata(long step, string json)
    {
        var metadata = DecodeStoredMetadata(step, json);
        // Outside the decode's catch: a view's own failure is not damage of the stored metadata.
        return _metadataView is null ? metadata : _metadataView(metadata);
    }

    /// <summary>A step's metadata dictionary from its stored JSON, as the engine's values (what a copy encodes again).</summary>
    public IReadOnlyDictionary<string, object?> DecodeStoredMetadata(long step, string json)
    {
        try
        {
            using var doc = JsonDocument.Parse(json, new JsonDocumentOptions { MaxDepth = StateEncoder.MaxJsonDepth });
            var decoded = new StateDecoder((_, _, item) => throw new InvalidDataException($"metadata item '{item}' refers to a tensor")).Decode(doc.RootElement);
            return decoded as IReadOnlyDictionary<string, object?> ?? throw new InvalidDataException("metadata is not a dictionary");
        }
        catch (Exception e) when (e is JsonException or InvalidDataException or FormatException or OverflowException or InvalidOperationException)
        {
            throw new CorruptCheckpointException(_directory, step, "metadata", e.Message, e);
        }
    }

    /// <summary>Decodes every chunk of a step against its checksums; a step that cannot be opened is one problem.</summary>
    public StepVerification Verify(long step, Func<StepReader> open, CancellationToken cancellationToken)
    {
        StepReader reader;
        try
        {
            reader = open();
        }
        catch (CorruptCheckpointException e)
        {
            return new StepVerification(_directory, step, 0, [new ItemProblem(e.Item, e.Problem)]);
        }
        catch (UnsupportedFormatVersionException e)
        {
            // This engine cannot check the step; saying so is a finding, not a failure of the whole run.
            return new StepVerification(_directory, step, 0, [new ItemProblem(StepFormat.ManifestFile, e.Message)]);
        }

        using (reader)
        {
            var problems = reader.VerifyAll(cancellationToken);
            // The state tree is checked too, without loading tensor data: a type code Restore would refuse
            // (a .NET type name, a rank beyond the limit) must not pass Verify.
            try
            {
                CheckTree(reader, step);
            }
            catch (CorruptCheckpointException e)
            {
                problems.Add(new ItemProblem(e.Item, e.Problem));
            }

            // A listed items array that disagrees with the state node (names exchanged, another length) makes
            // Compare refuse the step; Verify, which Compare's error points to, must report it too.
            if (problems.Count == 0 && !reader.Manifest.ItemsFromState)
            {
                try
                {
                    var names = new StateDecoder((_, _, _) => throw new InvalidOperationException("a name check loads no tensor"));
                    CorruptOnFailure(step, null, () => names.CompareNodes(reader.Manifest.State, reader.Manifest.Tensors, reader.Manifest.Items, readValues: false));
                }
                catch (CorruptCheckpointException e)
                {
                    problems.Add(new ItemProblem(e.Item, e.Problem));
                }
            }

            var itemCount = 0;
            try
            {
                itemCount = reader.Manifest.Items.Count;
            }
            catch (InvalidDataException e)
            {
                // Derived items: the state node the tree check above already reported (or a part of it only the derivation reads).
                if (problems.Count == 0)
                {
                    problems.Add(new ItemProblem(StepFormat.ManifestFile, e.Message));
                }
            }

            return new StepVerification(_directory, step, itemCount, problems);
        }
    }

    /// <summary>
    /// Decodes a step's whole state tree as a restore does, with empty stand-ins for its tensors (no tensor data
    /// is read): every container built with its type and key comparer, every tensor reference checked against its
    /// container type. What a restore would refuse here raises the same <see cref="CorruptCheckpointException"/>.
    /// </summary>
    private void CheckTree(StepReader reader, long step)
    {
        var tree = new StateDecoder((index, type, item) => CorruptOnFailure(step, item, () => reader.StandIn(index, type, item)));
        CorruptOnFailure(step, null, () => tree.Decode(reader.Manifest.StateJson));
    }

    /// <summary>
    /// The leaves (name, item, value) and containers of two opened steps, for comparison. Each step's tree is first
    /// checked as a restore decodes it (<see cref="CheckTree"/>): the leaves are then gathered by a walk of the
    /// parsed node, which never builds the typed containers, so without the check a step a restore refuses (a typed
    /// list whose element type no longer fits its tensors, a case-insensitive dictionary repeating a key in another
    /// case) would be compared.
    /// </summary>
    public (ComparedStep Before, ComparedStep After) ReadForCompare(StepReader a, long before, StepReader b, long after)
    {
        CheckTree(a, before);
        if (after != before)
        {
            CheckTree(b, after);
        }

        return (Gather(a, before), Gather(b, after));
    }

    private ComparedStep Gather(StepReader reader, long step)
    {
        var decoder = new StateDecoder((i, t, n) => CorruptOnFailure(step, n, () => reader.LoadTensor(i, t, n, null)));
        var manifest = reader.Manifest;
        return CorruptOnFailure(step, null, () => decoder.CompareNodes(manifest.State, manifest.Tensors, manifest.ItemsFromState ? null : manifest.Items));
    }

    /// <summary>Runs a read of stored data, reporting what it finds malformed as corruption of the step (and item).</summary>
    public T CorruptOnFailure<T>(long step, string? item, Func<T> read)
    {
        try
        {
            return read();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException or OverflowException or InvalidOperationException or KeyNotFoundException or IndexOutOfRangeException)
        {
            // A diff reads the earlier step inside the later one's read: a failure names its own step.
            throw new CorruptCheckpointException(_directory, StepOfFailure.StepOf(e) ?? step, item ?? ItemOf(e), e.Message, e);
        }
        catch (NewerFormatException e)
        {
            throw new UnsupportedFormatVersionException(_directory, step, (int)Math.Min(e.Version, int.MaxValue), StepFormat.Version, e.UnknownFeatures);
        }
    }

    private static string? ItemOf(Exception e)
    {
        var message = e.Message;
        var at = message.IndexOf("item '", StringComparison.Ordinal);
        if (at < 0)
        {
            // A whole-file or whole-folder failure still names where it is, so a report always carries an
            // item: the data file, the step folder, or else the manifest (every other check reads it).
            if (message.StartsWith(StepFormat.DataFile, StringComparison.Ordinal))
            {
                return StepFormat.DataFile;
            }

            return message.StartsWith("the step folder", StringComparison.Ordinal) ? StepFolderItem : StepFormat.ManifestFile;
        }

        var end = message.IndexOf('\'', at + 6);
        return end < 0 ? null : message[(at + 6)..end];
    }

    /// <summary>
    /// Whether every float tensor of a committed step is free of NaN and ±∞, for KeepFinite. A step that
    /// cannot be read (corrupt, gone, of a newer format) is not finite: it is no step to resume from, so it is
    /// logged and counted as not finite rather than failing the whole retention run.
    /// </summary>
    /// <param name="step">The step, as the log names it.</param>
    /// <param name="open">Opens the step's reader, checked against what the store recorded.</param>
    /// <param name="log">The store's log.</param>
    /// <param name="cancellationToken">Stops the check between chunks.</param>
    public bool IsFinite(long step, Func<StepReader> open, Action<string> log, CancellationToken cancellationToken)
    {
        try
        {
            using var reader = open();
            return Inspection.TensorStatisticsCalculator.IsFinite(reader, cancellationToken);
        }
        catch (Exception e) when (e is InvalidDataException or CheckpointException or NewerFormatException or FormatException or OverflowException
                                       or KeyNotFoundException)
        {
            log($"Step {step} in '{_directory}' could not be read to check it is finite ({e.Message}); KeepFinite does not count it.");
            return false;
        }
    }
}
