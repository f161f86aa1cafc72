using System.Buffers;
using System.Collections;
using System.Collections.Specialized;
using System.Diagnostics.CodeAnalysis;
using System.Management.Automation;
using System.Runtime.InteropServices;
using DataraxCkpt.Values;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// Converts a PowerShell state into the engine's neutral values before a save: PSObject wrappers are
/// removed, PSCustomObject becomes <see cref="StateObject"/> (property order kept), and containers whose
/// contents change are rebuilt around converted values. Everything else goes to the engine as is, which
/// accepts or refuses it.
/// </summary>
/// <remarks>
/// <para>One pass, no copy where none is needed: a Hashtable, OrderedDictionary, object[], ArrayList,
/// List&lt;object&gt;, Dictionary&lt;,&gt; or typed list or array of such containers (<c>[List[hashtable]]</c>,
/// <c>[hashtable[]]</c>: <see cref="TypedLists"/>) whose keys and values all come out of the conversion
/// unchanged (numbers, strings, unwrapped containers that themselves needed nothing) goes to the engine
/// as the user's own instance. The engine only reads it during the save, so the result is the same as a
/// copy's, minus rehashing every key: for a hashtable of 100,000 numbers that copy was most of the
/// module's own save time. A subclass of those types is still copied into the plain type, as before.</para>
/// <para>Each source container is converted once (memoized by reference), so shared references stay
/// shared and a cyclic PowerShell graph becomes an equally cyclic converted graph, which the engine
/// refuses with an error naming the path. A container met again while its own contents are still being
/// converted (a cycle) gets its copy at that moment, so the cycle closes over the copy. A small Hashtable or
/// object[] holding only plain values (and such containers) skips the memo: it comes out as itself either way.</para>
/// <para>A state can run code while it is read: a PSCustomObject's ScriptProperty getter (or another member that is not
/// a plain note property), a subclass of a container type. Such code may change a list or dictionary of the same state
/// behind the walk. The first walk reads no such member: it only notes that one exists, and a state without one (nearly
/// every state) is done after it, with no bookkeeping. A state with one is walked again, reading those members, with a
/// record of what was read from every container (<see cref="WalkedContainer"/>); if any container holds something else
/// after that walk, it is walked once more, up to <see cref="CheckedWalks"/> times, then refused
/// (<see cref="StateChangedDuringSaveException"/>). So a step holds the state as it is when the conversion ends, or
/// nothing is saved.</para>
/// </remarks>
internal sealed class StateToEngine
{
    // Source container -> its converted form; null while its contents are being converted and no cycle
    // has asked for it yet (then the source itself may still be the result).
    private readonly Dictionary<object, object?> _converted = new(ReferenceEqualityComparer.Instance);

    // Restore-Checkpoint -Into: the engine writes raw engine values (StateObject, List<object>) into the containers
    // it is given, so every container must be a copy the module converts back, never the user's own instance.
    private readonly bool _copyEveryContainer;

    // The first walk of a save: plain containers go to the engine without a walk, members that run code are not read.
    private readonly bool _passPlain;

    // A checked walk's record of every container it read (null on the first walk and for Restore -Into).
    private readonly List<WalkedContainer>? _walked;

    // A checked walk: the value path of the container being read (a record names it when it keeps changing), and the
    // first container whose enumerator said it changed during the walk.
    private string _path = ValuePath.Root;

    // Containers entered by the walk, root first (ToEngine).
    private int _depth;

    // The key or index under which each container entered holds the child being converted (_keys[d] at depth d), so
    // the walks that keep no path (all but the checked one) can still name a value refused for its depth. Metadata
    // values start at depth 1 under _keysRoot.
    private readonly object?[] _keys = new object?[CheckpointHandler.MaxStateDepth + 2];
    private string _keysRoot = ValuePath.Root;
    private string? _changedDuringWalk;

    // The first walk met a member whose reading runs code, or a container whose type is a subclass.
    private bool _codeFound;

    // Checked walks of a state that runs code, at most; one that keeps changing through all of them is refused. Three:
    // a getter that changes the state the first time it runs settles on the second walk; one that changes it on every
    // read never settles, and more walks would only run it more often.
    private const int CheckedWalks = 3;

    private StateToEngine(bool copyEveryContainer = false, bool checkedWalk = false)
    {
        _copyEveryContainer = copyEveryContainer;
        _passPlain = !copyEveryContainer && !checkedWalk;
        _walked = checkedWalk ? [] : null;
    }

    /// <summary>
    /// Converts one state and its <c>-Metadata</c> for one save, as one set of roots: every walk (the first and each
    /// checked one) converts the state and then every metadata value, and a checked walk's records cover all of them,
    /// so a metadata value's getter that changes the state (or another metadata value) after it was converted is seen
    /// by the check like any other getter's change. <paramref name="convertedMetadata"/> is keyed by each key's text
    /// and keeps the source's key comparer (case-insensitive for <c>@{}</c>), so restored metadata answers
    /// <c>.Description</c> and <c>.description</c> alike; other dictionaries get the ordinal comparer.
    /// </summary>
    /// <exception cref="StateChangedDuringSaveException">Code the state or a metadata value runs while it is read
    /// (ScriptProperty getters) changed it during every walk.</exception>
    /// <exception cref="UnsupportedValueException">Two metadata keys have the same text (1 and '1').</exception>
    public static object? Convert(object? state, IDictionary? metadata, out Dictionary<string, object?>? convertedMetadata)
    {
        var first = new StateToEngine();
        var result = first.ConvertRoots(state, metadata, out convertedMetadata);
        if (!first._codeFound)
        {
            // No code ran while the state or the metadata was read, so nothing in them changed meanwhile.
            return result;
        }

        for (var walk = 1; ; walk++)
        {
            var checkedWalk = new StateToEngine(checkedWalk: true);
            result = checkedWalk.ConvertRoots(state, metadata, out convertedMetadata);
            var changed = checkedWalk.FirstChanged();
            if (changed is null)
            {
                return result;
            }

            if (walk == CheckedWalks)
            {
                throw new StateChangedDuringSaveException(changed, walk);
            }
        }
    }

    /// <summary>One walk of a save's roots: the state, then each metadata value (one memo, one record list for all).</summary>
    private object? ConvertRoots(object? state, IDictionary? metadata, out Dictionary<string, object?>? convertedMetadata)
    {
        _path = ValuePath.Root;
        var result = ToEngine(state);
        convertedMetadata = metadata is null ? null : ConvertMetadata(metadata);
        return result;
    }

    /// <summary>The metadata dictionary's values, converted in this walk and keyed by their keys' text.</summary>
    /// <exception cref="UnsupportedValueException">Two keys have the same text (1 and '1').</exception>
    private Dictionary<string, object?> ConvertMetadata(IDictionary metadata)
    {
        // Its entries are read before any value is converted: a getter that adds a key then changes a dictionary whose
        // enumeration has ended (the checked walks' record of it shows that), not one in the middle of its enumeration.
        // A dictionary of another type than the three plain ones may run its own code while it is enumerated.
        if (!WalkedContainer.IsPlainContainerType(metadata.GetType()))
        {
            _codeFound |= _passPlain;
        }

        var entries = new List<DictionaryEntry>(metadata.Count);
        var enumerator = metadata.GetEnumerator();
        while (enumerator.MoveNext())
        {
            entries.Add(new DictionaryEntry(enumerator.Key, enumerator.Value));
        }

        var comparer = DictionaryComparers.ForMetadata(metadata, entries);
        var result = new Dictionary<string, object?>(entries.Count, comparer);
        var seen = _walked is null ? null : new object?[2 * entries.Count];
        for (var i = 0; i < entries.Count; i++)
        {
            var (sourceKey, sourceValue) = (entries[i].Key, entries[i].Value);
            var key = sourceKey is PSObject pso ? pso.BaseObject : sourceKey;
            var text = System.Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture) ?? string.Empty;
            var path = "metadata[" + text + "]";
            if (seen is not null)
            {
                seen[2 * i] = sourceKey;
                seen[(2 * i) + 1] = sourceValue;
            }

            _path = path;

            // Metadata keys are strings: two keys with one text (1 and '1') would keep one value silently. The engine
            // stores a metadata value one level below the metadata dictionary, so its depth counts from 1.
            _depth = 1;
            _keysRoot = path;
            var converted = ToEngine(sourceValue);
            _keysRoot = ValuePath.Root;
            _depth = 0;
            if (!result.TryAdd(text, converted))
            {
                throw new UnsupportedValueException(path,
                    $"two metadata keys ({key.GetType().Name} {text} and another) become the same text key '{text}'; metadata keys are strings, so rename one");
            }
        }

        _walked?.Add(new WalkedContainer(metadata, "metadata", seen!, 2 * entries.Count));
        return result;
    }

    /// <summary>After a checked walk: the path of the first container that does not hold what the walk read from it, or null.</summary>
    private string? FirstChanged()
    {
        if (_changedDuringWalk is not null)
        {
            return _changedDuringWalk;
        }

        // A container of a subclass type is compared by enumerating it, which runs its own code (an overridden
        // GetEnumerator, Count or indexer), and that code may change a container compared before it. So the records of
        // such containers are compared first, twice (a change their code makes during the first pass to one of them
        // is seen by the second), and the plain containers last: their comparison runs no code, so each is compared
        // after every piece of code the check runs (attack 21). What is left is in docs/guarantees.md (Known gaps).
        var runCode = _walked!.Exists(walked => walked.RunsCodeWhenRead);
        for (var pass = 0; runCode && pass < 2; pass++)
        {
            foreach (var walked in _walked)
            {
                if (walked.RunsCodeWhenRead && !walked.IsUnchanged())
                {
                    return walked.Path;
                }
            }
        }

        foreach (var walked in _walked)
        {
            if (!walked.RunsCodeWhenRead && !walked.IsUnchanged())
            {
                return walked.Path;
            }
        }

        return null;
    }

    /// <summary>
    /// Converts a state into copies of every container (none passed through) and also returns, for every copy,
    /// the PowerShell container it copies (a PSCustomObject by its PSObject wrapper), so values set in the copies
    /// can be converted and written back (Restore-Checkpoint -Into).
    /// </summary>
    public static object? Convert(object? state, out IReadOnlyDictionary<object, object> sources)
    {
        var converter = new StateToEngine(copyEveryContainer: true);
        var result = converter.ToEngine(state);
        sources = converter._converted.ToDictionary(p => p.Value!, p => p.Key, ReferenceEqualityComparer.Instance);
        return result;
    }

    private object? ToEngine(object? value)
    {
        // Most leaves of a state: nothing to look up.
        if (IsPlainLeaf(value))
        {
            return value;
        }

        // The walk recurses once per level: a state nested thousands deep would end the process with a stack overflow.
        // A container below the levels the engine stores is refused here, with the engine's own words, at the level
        // where the engine would refuse it. Not handed over unconverted: a container shared with a shallower path would
        // then carry PowerShell values, or for Restore -Into the user's own hashtable, to the engine (attack of session 22).
        // A Restore -Into template that deep cannot be the shape of any step: refused before anything is written into it.
        if (_depth > CheckpointHandler.MaxStateDepth)
        {
            var limit = CheckpointHandler.MaxStateDepth;
            var path = _walked is null ? PathFromKeys(_depth) : _path;
            throw _copyEveryContainer
                ? new IncompatibleStateException(path, $"no containers nested deeper than {limit} levels (no step holds any)", $"containers nested deeper than {limit} levels")
                : new UnsupportedValueException(path, $"containers nest deeper than {limit} levels");
        }

        _depth++;
        try
        {
            return ContainerToEngine(value);
        }
        finally
        {
            _depth--;
        }
    }

    // The path of the value at `depth` (ToEngine's value at _depth; the container being converted at _depth - 1), from
    // the keys of the containers above it.
    private string PathFromKeys(int depth)
    {
        var path = _keysRoot;
        for (var d = _keysRoot == ValuePath.Root ? 0 : 1; d < depth; d++)
        {
            path = ValuePath.Child(path, _keys[d]);
        }

        return path;
    }

    private object? ContainerToEngine(object value)
    {

        // The two containers a pwsh state is mostly made of (@{} and @()), by exact type before the tests below; one
        // whose contents are plain goes to the engine as it is, without a memo entry (the PlainContainer comment below says why).
        var type = value.GetType();
        if (type == typeof(Hashtable))
        {
            var table = (Hashtable)value;
            return _passPlain && IsPlainTable(table, nested: true) ? value : ConvertDictionary(table, keepsType: true);
        }

        if (type == typeof(object[]))
        {
            var array = (object?[])value;
            return _passPlain && IsPlainArray(array, nested: true) ? value : ConvertList(array, keepsType: true);
        }

        if (value is PSObject pso)
        {
            if (pso.BaseObject is PSCustomObject)
            {
                // PSCustomObject's base object is one shared instance; the wrapper is the identity.
                return ConvertObject(pso);
            }

            value = pso.BaseObject;
        }

        return value switch
        {
            Hashtable table => ConvertDictionary(table, IsExactly(table, typeof(Hashtable))),
            OrderedDictionary ordered => ConvertDictionary(ordered, IsExactly(ordered, typeof(OrderedDictionary))),
            object?[] array when array.GetType() == typeof(object[]) => ConvertList(array, keepsType: true),
            ArrayList list => ConvertList(list, IsExactly(list, typeof(ArrayList))),
            List<object?> list => ConvertList(list, keepsType: true),
            // Becomes a List<object>: the engine has no PSObject.
            List<PSObject> list => ConvertList(list, keepsType: false),
            // A generic dictionary keeps its type (the engine records it); values assigned from PowerShell may be PSObjects.
            IDictionary generic when IsGenericDictionary(generic) => ConvertDictionary(generic, keepsType: true),
            // A typed list or array whose items may hold a PSCustomObject ([List[hashtable]], [hashtable[]]): walked,
            // and copied into its own type only when an item changes; one of numbers or strings is not even walked.
            IList typed when TypedLists.HoldsContainers(typed.GetType(), out _) => ConvertList(typed, keepsType: true),
            _ => value,
        };
    }

    /// <summary>
    /// True when <paramref name="container"/> is of exactly <paramref name="type"/>; a subclass (a PowerShell class deriving
    /// from Hashtable) may run its own code while it is enumerated, which makes the state one to check after its walk.
    /// </summary>
    private bool IsExactly(object container, Type type)
    {
        if (container.GetType() == type)
        {
            return true;
        }

        _codeFound |= _passPlain;
        return false;
    }

    /// <summary>A value the conversion hands over as it is and that holds nothing to convert: null, a string, a number, a bool or a char.</summary>
    private static bool IsPlainLeaf([NotNullWhen(false)] object? value)
    {
        if (value is null)
        {
            return true;
        }

        // The leaves states are mostly made of answer by one compare of the object's type each; Type.IsPrimitive, a call
        // into the runtime for every leaf (twice per entry before round 63), was half of a 100,000-int hashtable's
        // conversion. The other primitives ([byte], [char], [float] ...) still answer through it, as before.
        var type = value.GetType();
        return type == typeof(int) || type == typeof(string) || type == typeof(double) || type == typeof(long)
            || type == typeof(bool) || type.IsPrimitive;
    }

    /// <summary>A dictionary key as the engine is to see it: a PSObject wrapper removed. A string (nearly every key) answers by one compare.</summary>
    private static object UnwrapKey(object sourceKey) =>
        sourceKey is string ? sourceKey : sourceKey is PSObject keyObject ? keyObject.BaseObject : sourceKey;

    // PlainContainer: a Hashtable or object[] of exactly that type whose keys and values are plain leaves, or (one level
    // down, nested) such containers of plain leaves, comes out of ConvertDictionary/ConvertList as the source itself
    // (nothing in it changes), so it is returned without its walk through the memo. That is the same result: the
    // memo would map it to itself, and a second reference to it gets the source again, so sharing is kept. It
    // cannot be on a cycle (nothing under it is a container that could lead back), so no cycle can ask for its
    // copy. Two levels, not more: a container that fails the test is walked again by the full conversion, which
    // tests its children again; with two levels no value is tested more than twice, and a cycle ends the test.
    // Only containers of at most PlainTestLimit items are tested: the memo entry the test saves is worth a few items'
    // walk, so on a large container a test that fails at its end (a hashtable of 100,000 numbers and one PSObject)
    // would add a whole walk for nothing (measured: 1.27x the conversion's CPU for that state without the limit).
    // For the 2,000 configs of the bench (issue 17 (e)) every config is such a container, so the memo holds one entry
    // instead of 4,001 (each with four lookups and the table's growth): the conversion took about 0.6x the thread CPU
    // (round 51 of docs/performance-notes.md). Restore -Into (_copyEveryContainer) needs every copy, so it never skips.

    private const int PlainTestLimit = 64;

    private static bool IsPlainTable(Hashtable table, bool nested)
    {
        if (table.Count > PlainTestLimit)
        {
            return false;
        }

        var enumerator = table.GetEnumerator();
        while (enumerator.MoveNext())
        {
            if (enumerator.Key is PSObject || !IsPlainValue(enumerator.Value, nested))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPlainArray(object?[] array, bool nested)
    {
        if (array.Length > PlainTestLimit)
        {
            return false;
        }

        foreach (var item in array)
        {
            if (!IsPlainValue(item, nested))
            {
                return false;
            }
        }

        return true;
    }

    private static bool IsPlainValue(object? value, bool nested)
    {
        if (IsPlainLeaf(value))
        {
            return true;
        }

        if (!nested)
        {
            return false;
        }

        var type = value.GetType();
        return (type == typeof(Hashtable) && IsPlainTable((Hashtable)value, nested: false))
            || (type == typeof(object[]) && IsPlainArray((object?[])value, nested: false));
    }

    private static bool IsGenericDictionary(IDictionary dictionary)
    {
        var type = dictionary.GetType();
        return type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Dictionary<,>);
    }

    /// <summary>An empty copy of a container, of the type and key comparer the engine is to see.</summary>
    private static object NewCopy(object source) => source switch
    {
        // Copies keep the source's key comparer: @{} and [ordered] are case-insensitive, and the engine records it.
        Hashtable table => new Hashtable(table.Count, DictionaryComparers.Of(table)),
        OrderedDictionary ordered => new OrderedDictionary(ordered.Count, DictionaryComparers.Of(ordered)),
        object?[] array when array.GetType() == typeof(object[]) => new object?[array.Length],
        // A typed array or list keeps its type (the engine records it): its converted items fit it (TypedLists says why).
        Array typed => Array.CreateInstance(typed.GetType().GetElementType()!, typed.Length),
        ArrayList list => new ArrayList(list.Count),
        IList typed when typed.GetType() != typeof(List<object>) && TypedLists.HoldsContainers(typed.GetType(), out _) =>
            Activator.CreateInstance(typed.GetType(), typed.Count)!,
        // List<object>, and List<PSObject>, which becomes one.
        IList list => new List<object?>(list.Count),
        IDictionary generic => Activator.CreateInstance(generic.GetType(), DictionaryComparers.GenericOf(generic))!,
        _ => throw new InvalidOperationException($"No copy for a {source.GetType().FullName}."),
    };

    /// <summary>
    /// Starts converting a container: true with its known result when it was converted already (or is
    /// being converted: a cycle, which gets the copy now); false after registering it as in progress.
    /// </summary>
    private bool TryGetConverted(object source, out object result)
    {
        // One lookup that also adds: the memo is touched twice per container, and for a state of many small
        // containers those lookups are a large part of the conversion. NewCopy does not touch the memo, so the
        // reference stays valid.
        ref var known = ref CollectionsMarshal.GetValueRefOrAddDefault(_converted, source, out var exists);
        if (exists)
        {
            known ??= NewCopy(source);
            result = known;
            return true;
        }

        result = source;
        return false;
    }

    private object ConvertObject(PSObject source)
    {
        if (_converted.TryGetValue(source, out var known))
        {
            return known!;
        }

        var target = new StateObject();
        _converted.Add(source, target);
        if (_walked is not null)
        {
            return ConvertObjectChecked(source, target);
        }

        foreach (var property in source.Properties)
        {
            if (!property.IsGettable)
            {
                continue;
            }

            if (_passPlain && WalkedContainer.ReadingRunsCode(property))
            {
                // The first walk of a save runs no code: it notes that the state has some, and the checked walks that
                // follow read it (this walk's result is then dropped). Restore -Into reads it as before.
                _codeFound = true;
                continue;
            }

            _keys[_depth - 1] = property.Name;
            target.Add(property.Name, ToEngine(property.Value));
        }

        return target;
    }

    private StateObject ConvertObjectChecked(PSObject source, StateObject target)
    {
        var seen = new List<object?>();
        var parent = _path;
        foreach (var property in source.Properties)
        {
            if (!property.IsGettable)
            {
                continue;
            }

            var value = property.Value;
            seen.Add(property.Name);
            seen.Add(WalkedContainer.ReadingRunsCode(property) ? WalkedContainer.CodeValue : value);
            _path = ValuePath.Child(parent, property.Name);
            target.Add(property.Name, ToEngine(value));
        }

        _path = parent;
        _walked!.Add(new WalkedContainer(source, parent, [.. seen], seen.Count));
        return target;
    }

    private object ConvertDictionary(IDictionary source, bool keepsType)
    {
        if (TryGetConverted(source, out var known))
        {
            return known;
        }

        if (_walked is not null)
        {
            return ConvertDictionaryChecked(source, keepsType);
        }

        // Converted entries are buffered only from the first entry that changes, unless a copy is certain from the
        // start: a hashtable of 100,000 numbers goes to the engine as it is, and renting a buffer for its entries
        // only to drop them kept 2 MiB more in the pool for the rest of the process.
        var count = source.Count;
        var changed = !keepsType;
        var entries = changed || _copyEveryContainer ? ArrayPool<DictionaryEntry>.Shared.Rent(count) : null;
        try
        {
            var n = 0;
            // The dictionary enumerator's Key and Value, not foreach's boxed DictionaryEntry per entry.
            var enumerator = source.GetEnumerator();
            while (enumerator.MoveNext())
            {
                var sourceKey = enumerator.Key;
                var sourceValue = enumerator.Value;
                var key = UnwrapKey(sourceKey);
                object? value;
                if (IsPlainLeaf(sourceValue))
                {
                    // Tested here, not again by ToEngine: a hashtable of numbers pays one leaf test per entry, and no
                    // store (and no write barrier) of its key.
                    value = sourceValue;
                }
                else
                {
                    // Noted only above a container, for a depth refusal's path.
                    _keys[_depth - 1] = key;
                    value = ToEngine(sourceValue);
                }

                if (!ReferenceEquals(key, sourceKey) || !ReferenceEquals(value, sourceValue))
                {
                    changed = true;
                    if (entries is null)
                    {
                        // The first entry that changes: walk the dictionary again from its start, buffering. The
                        // entries before this one are converted again, not merely read again: they came out as they
                        // were (containers are memoized), unless user code run by this conversion (a ScriptProperty's
                        // getter) replaced or removed one meanwhile, which a Dictionary<,>'s enumerator does not
                        // notice; the new value is then converted like any other and never reaches the engine raw,
                        // and a removed entry is not taken twice (found by the attack on the module save path).
                        entries = ArrayPool<DictionaryEntry>.Shared.Rent(Math.Max(count, source.Count));
                        enumerator = source.GetEnumerator();
                        n = 0;
                        continue;
                    }
                }

                if (entries is not null)
                {
                    entries[n] = new DictionaryEntry(key, value);
                }

                n++;
            }

            return DictionaryResult(source, changed, entries, n);
        }
        finally
        {
            if (entries is not null)
            {
                ArrayPool<DictionaryEntry>.Shared.Return(entries, clearArray: true);
            }
        }
    }

    /// <summary>A checked walk's ConvertDictionary: every entry buffered from the start (no second pass) and recorded.</summary>
    private object ConvertDictionaryChecked(IDictionary source, bool keepsType)
    {
        var count = source.Count;
        var changed = !keepsType;
        var entries = ArrayPool<DictionaryEntry>.Shared.Rent(count);
        var seen = new object?[2 * count];
        var parent = _path;
        try
        {
            var n = 0;
            var enumerator = source.GetEnumerator();
            while (NextEntry(enumerator, n < count, parent))
            {
                var sourceKey = enumerator.Key;
                var sourceValue = enumerator.Value;
                seen[2 * n] = sourceKey;
                seen[(2 * n) + 1] = sourceValue;
                var key = UnwrapKey(sourceKey);
                object? value;
                if (IsPlainLeaf(sourceValue))
                {
                    value = sourceValue;
                }
                else
                {
                    _path = ValuePath.Child(parent, key);
                    value = ToEngine(sourceValue);
                }

                changed |= !ReferenceEquals(key, sourceKey) || !ReferenceEquals(value, sourceValue);
                entries[n++] = new DictionaryEntry(key, value);
            }

            _path = parent;
            _walked!.Add(new WalkedContainer(source, parent, seen, 2 * n));
            return DictionaryResult(source, changed, entries, n);
        }
        finally
        {
            ArrayPool<DictionaryEntry>.Shared.Return(entries, clearArray: true);
        }
    }

    /// <summary>
    /// A checked walk's next entry: false at the end, and also when code run by the walk changed the dictionary so that
    /// its enumerator refuses to go on or it grew past what the walk buffers; the walk is then marked as changed.
    /// </summary>
    private bool NextEntry(IDictionaryEnumerator enumerator, bool room, string path)
    {
        bool more;
        try
        {
            more = enumerator.MoveNext();
        }
        catch (InvalidOperationException)
        {
            // "Collection was modified": a Hashtable, an OrderedDictionary or a Dictionary<,> a getter added to.
            _changedDuringWalk ??= path;
            return false;
        }

        if (more && !room)
        {
            _changedDuringWalk ??= path;
            return false;
        }

        return more;
    }

    /// <summary>The end of a dictionary's conversion: the source itself, or its copy filled with the converted entries.</summary>
    private object DictionaryResult(IDictionary source, bool changed, DictionaryEntry[]? entries, int n)
    {
        if (_codeFound)
        {
            // A first walk whose result is dropped for the checked walks: no copy (a hashtable of 100,000 entries
            // holding one PSCustomObject with a getter is rehashed by its copy, most of the walk's time).
            return source;
        }

        if (KeepsSource(source, changed, out var target))
        {
            return source;
        }

        var copy = (IDictionary)target;
        if (entries is null)
        {
            // Nothing changed, but a cycle through this dictionary asked for its copy: the source's own entries.
            var e = source.GetEnumerator();
            while (e.MoveNext())
            {
                copy.Add(e.Key, e.Value);
            }

            return copy;
        }

        var element = SlotTypes.ValueType(copy);
        for (var i = 0; i < n; i++)
        {
            var (key, value) = (entries[i].Key, entries[i].Value);
            try
            {
                copy.Add(key, SlotTypes.Fits(element, value) ? value : source[key]);
            }
            catch (ArgumentException) when (copy.Contains(key))
            {
                // A PSObject-wrapped key the source's comparer told apart from another ('K1' wrapped beside 'k1' in a
                // case-insensitive @{}: the comparer falls back to PSObject.Equals, which is case-sensitive) is that key
                // once unwrapped. Refused with the dictionary's path, not .NET's "Item has already been added" (attack 23).
                var path = ContainerPath();
                var text = System.Convert.ToString(key, System.Globalization.CultureInfo.InvariantCulture);
                throw _copyEveryContainer
                    ? new IncompatibleStateException(path, "no two keys that are one key", $"two keys that are the key '{text}' once PSObject wrappers are removed")
                    : new UnsupportedValueException(path, $"two keys of this dictionary are the key '{text}' ({key.GetType().Name}) once PSObject wrappers are removed; keep one");
            }
        }

        return copy;
    }

    // The path of the container being converted (ToEngine entered it: _depth counts it): the checked walk's _path, back
    // at the container after its loop, or the keys above it.
    private string ContainerPath() => _walked is not null ? _path : PathFromKeys(_depth - 1);

    private object ConvertList(IList source, bool keepsType)
    {
        if (TryGetConverted(source, out var known))
        {
            return known;
        }

        if (_walked is not null)
        {
            return ConvertListChecked(source, keepsType);
        }

        // As for dictionaries: items are buffered only from the first one that changes, unless a copy is certain.
        var count = source.Count;
        var changed = !keepsType;
        var items = changed || _copyEveryContainer ? ArrayPool<object?>.Shared.Rent(count) : null;
        try
        {
            // An object[]'s own indexer, not IList's (which goes through Array.GetValue's type checks per item).
            var array = source as object?[];
            for (var i = 0; i < count; i++)
            {
                if (array is null && i >= source.Count)
                {
                    // User code run by this conversion (a ScriptProperty's getter) shortened the list: its items are
                    // saved as they are now, as a dictionary's are; reading on threw a bare ArgumentOutOfRangeException
                    // that named nothing (attack 20 round 4).
                    count = i;
                    break;
                }

                var item = array is not null ? array[i] : source[i];
                object? value;
                if (IsPlainLeaf(item))
                {
                    value = item;
                }
                else
                {
                    // Boxed only for a container item: a list of numbers stays free of allocations.
                    _keys[_depth - 1] = i;
                    value = ToEngine(item);
                }

                if (!ReferenceEquals(value, item))
                {
                    changed = true;
                    if (items is null)
                    {
                        // As for dictionaries: from the first item that changes, the list is walked again from its
                        // start, buffering, so that an earlier item user code replaced meanwhile is converted too.
                        items = ArrayPool<object?>.Shared.Rent(count);
                        i = -1;
                        continue;
                    }
                }

                if (items is not null)
                {
                    items[i] = value;
                }
            }

            return ListResult(source, changed, items, count);
        }
        finally
        {
            if (items is not null)
            {
                ArrayPool<object?>.Shared.Return(items, clearArray: true);
            }
        }
    }

    /// <summary>A checked walk's ConvertList: every item buffered from the start (no second pass) and recorded.</summary>
    private object ConvertListChecked(IList source, bool keepsType)
    {
        var count = source.Count;
        var changed = !keepsType;
        var items = ArrayPool<object?>.Shared.Rent(count);
        var seen = new object?[count];
        var parent = _path;
        try
        {
            var array = source as object?[];
            var n = 0;
            // A list a getter shortens is read to its new end; one it lengthens differs from the record afterwards.
            for (; n < count && (array is not null || n < source.Count); n++)
            {
                var item = array is not null ? array[n] : source[n];
                seen[n] = item;
                object? value;
                if (IsPlainLeaf(item))
                {
                    value = item;
                }
                else
                {
                    _path = ValuePath.Child(parent, n);
                    value = ToEngine(item);
                }

                changed |= !ReferenceEquals(value, item);
                items[n] = value;
            }

            _path = parent;
            _walked!.Add(new WalkedContainer(source, parent, seen, n));
            return ListResult(source, changed, items, n);
        }
        finally
        {
            ArrayPool<object?>.Shared.Return(items, clearArray: true);
        }
    }

    /// <summary>The end of a list's conversion: the source itself, or its copy filled with the converted items.</summary>
    private object ListResult(IList source, bool changed, object?[]? items, int count)
    {
        if (_codeFound)
        {
            // As in DictionaryResult: a first walk whose result is dropped makes no copy.
            return source;
        }

        if (KeepsSource(source, changed, out var target))
        {
            return source;
        }

        if (items is null)
        {
            // Nothing changed, but a cycle through this list asked for its copy: the source's own items.
            for (var i = 0; i < Math.Min(count, source.Count); i++)
            {
                SetItem(target, i, source[i]);
            }

            return target;
        }

        for (var i = 0; i < count; i++)
        {
            SetItem(target, i, items[i]);
        }

        return target;
    }

    /// <summary>Puts item <paramref name="index"/> of a copy: an array's slot, or the next item of a list (filled in order).</summary>
    private static void SetItem(object copy, int index, object? value)
    {
        // A typed array ([hashtable[]]) is an object?[] too (array covariance); its items fit its slots.
        if (copy is object?[] array)
        {
            array[index] = value;
        }
        else
        {
            ((IList)copy).Add(value);
        }
    }

    /// <summary>
    /// Ends a container's conversion: true (the source itself is the result) when nothing in it changed and no
    /// cycle asked for its copy; otherwise false with the copy (made now, or earlier by the cycle) to fill with
    /// the converted contents.
    /// </summary>
    private bool KeepsSource(object source, bool changed, out object target)
    {
        // Registered by TryGetConverted; one lookup, as there.
        ref var known = ref CollectionsMarshal.GetValueRefOrNullRef(_converted, source);
        if (known is null && !changed && !_copyEveryContainer)
        {
            known = source;
            target = source;
            return true;
        }

        known ??= NewCopy(source);
        target = known;
        return false;
    }
}
