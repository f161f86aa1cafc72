using System.Collections;
using System.Globalization;
using System.Text.Json;
using DataraxCkpt.Format;

namespace DataraxCkpt.Values;

/// <summary>
/// Restore into an existing state: the stored tree is walked beside the target's containers, and every
/// stored tensor is matched with the array (or dense Tensor&lt;T&gt;) the target holds at the same place.
/// Nothing is written while planning, so a mismatch anywhere leaves the target as it was.
/// </summary>
internal sealed partial class StateDecoder
{
    /// <summary>Checks <paramref name="target"/> against stored tensor <c>index</c> and returns where to decode it.</summary>
    public delegate TensorDestination TensorTarget(int index, object? target, string itemName);

    /// <summary>
    /// Plans a restore of <paramref name="node"/> into <paramref name="template"/>. Rules (docs/cmdlets.md,
    /// "Restore into an existing state"): containers are matched by key, property name or position; a stored
    /// tensor must meet an array or tensor of the same element type and shape (else
    /// <see cref="IncompatibleStateException"/>), which is then filled in place; other stored values replace the
    /// target's value in its container; stored items the target lacks are added as newly restored values; the
    /// target's items the step lacks are left as they are. Tensor destinations are added to <paramref name="pending"/>;
    /// the returned plan sets the containers' values once they are decoded.
    /// </summary>
    /// <exception cref="IncompatibleStateException">A container or tensor of the target does not fit the stored one, or
    /// two places of the target share memory (one array, or an array and a tensor over it) where different tensors are stored.</exception>
    public RestorePlan PlanInto(JsonElement node, object template, TensorTarget destinationIn, List<TensorDestination> pending)
    {
        var plan = new RestorePlan();
        if (!IsContainer(node))
        {
            throw new IncompatibleStateException(ItemNames.RootLeaf, "a single value, not a container", Describe(template));
        }

        var first = pending.Count;
        PlanContainer(node, template, string.Empty, 0, new IntoContext(destinationIn, pending, plan));
        // Placed below catches one object at two places; different objects over the same memory (an array and a
        // tensor over it) are found by where their bytes lie, once every destination is known.
        SharedMemoryCheck.Check(pending, first);
        return plan;
    }

    private sealed record IntoContext(TensorTarget DestinationIn, List<TensorDestination> Pending, RestorePlan Plan)
    {
        /// <summary>
        /// Target arrays and tensors already given a stored tensor, with its index and item: a tied tensor is
        /// read once per target, and one target object cannot take two different stored tensors.
        /// </summary>
        public Dictionary<object, (int Index, string Item)> Placed { get; } = new(ReferenceEqualityComparer.Instance);
    }

    private void PlanContainer(JsonElement node, object target, string itemName, int depth, IntoContext context)
    {
        CheckDepth(depth, itemName);
        CheckContainerFields(node, itemName);
        var code = node.GetProperty("t").GetString()!;
        var shownName = itemName.Length == 0 ? ItemNames.RootLeaf : itemName;
        if (node.TryGetProperty("e", out var entries))
        {
            if (target is not IDictionary dict)
            {
                throw new IncompatibleStateException(shownName, "a dictionary", Describe(target));
            }

            var valueType = dict.GetType().IsGenericType ? dict.GetType().GetGenericArguments()[^1] : typeof(object);
            var mixedKeys = ItemNames.HasMixedKeys(code);
            // A typed dictionary throws ArgumentException for a key of another type only when the plan is
            // applied, after the arrays were filled: its key type is checked here, with the value's.
            var keyType = dict.GetType().GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>))
                ?.GetGenericArguments()[0] ?? typeof(object);
            foreach (var pair in Pairs(entries, itemName))
            {
                var key = ReadDictionaryKey(pair[0], itemName);
                if (!keyType.IsInstanceOfType(key))
                {
                    throw new IncompatibleStateException(shownName, $"a {key.GetType().Name} key", $"a {dict.GetType().Name} whose keys are {keyType.Name}");
                }

                var childName = ItemNames.Join(itemName, ItemNames.KeySegment(key, mixedKeys));
                var exists = dict.Contains(key);
                var slot = new Slot(exists ? dict[key] : null, valueType, dict.IsReadOnly || (!exists && dict.IsFixedSize) ? (dict, shownName) : null);
                PlanChild(pair[1], exists, slot, childName, depth, v => dict[key] = v, context);
            }
        }
        else if (node.TryGetProperty("p", out var properties))
        {
            if (target is not StateObject obj)
            {
                throw new IncompatibleStateException(shownName, "an object with properties", Describe(target));
            }

            foreach (var pair in Pairs(properties, itemName))
            {
                var name = ReadPropertyName(pair[0], itemName);
                var childName = ItemNames.Join(itemName, ItemNames.Escape(name));
                var exists = obj.TryGetValue(name, out var current);
                PlanChild(pair[1], exists, new Slot(current, typeof(object), null), childName, depth, v => obj.Set(name, v), context);
            }
        }
        else
        {
            var items = Items(node, itemName);
            if (target is not IList list || target is Array { Rank: > 1 })
            {
                throw new IncompatibleStateException(shownName, $"a list of {items.GetArrayLength()} items", Describe(target));
            }

            if (list.Count != items.GetArrayLength())
            {
                throw new IncompatibleStateException(shownName, $"a list of {items.GetArrayLength()} items", $"a {target.GetType().Name} of {list.Count} items");
            }

            var elementType = target is Array array ? array.GetType().GetElementType()!
                : target.GetType().IsGenericType ? target.GetType().GetGenericArguments()[0] : typeof(object);
            var i = 0;
            foreach (var child in items.EnumerateArray())
            {
                var position = i++;
                PlanChild(child, true, new Slot(list[position], elementType, list.IsReadOnly ? (list, shownName) : null),
                    ItemNames.Join(itemName, position.ToString(CultureInfo.InvariantCulture)), depth, v => list[position] = v, context);
            }
        }
    }

    /// <summary>
    /// A place in a target container: its current value, the type of value it holds, and, when its container
    /// cannot take a new value there (read-only, or fixed-size for a new key), that container and its item name.
    /// </summary>
    private readonly record struct Slot(object? Current, Type SlotType, (object Container, string Name)? Unwritable);

    private void PlanChild(JsonElement child, bool exists, Slot slot, string childName, int depth, Action<object?> set, IntoContext context)
    {
        var current = slot.Current;
        var slotType = slot.SlotType;
        if (exists && child.ValueKind == JsonValueKind.Object && child.TryGetProperty("t", out var t) && t.ValueEquals(TypeCodes.Tensor))
        {
            if (child.TryGetProperty("ct", out var ct) && ct.ValueKind == JsonValueKind.String && ListTensors.IsBoxedContainer(ResolveType(ct.GetString()!, childName)))
            {
                PlanBoxedInto(child, current, childName, depth, context);
                return;
            }

            var index = child.TryGetProperty("i", out var ti) && ti.ValueKind == JsonValueKind.Number && ti.TryGetInt32(out var tIndex) ? tIndex : throw Bad(childName, "tensor index missing");
            var destination = context.DestinationIn(index, current, childName);
            if (context.Placed.TryGetValue(current!, out var placed))
            {
                // The same array at two places whose stored tensors differ: decoding both into it would leave
                // a mix of the two (chunks are decoded in parallel), so neither place could be right.
                if (placed.Index != index)
                {
                    throw new IncompatibleStateException(childName, "a tensor of its own (the step stores different tensors here and at '" + placed.Item + "')",
                        "the same array as item '" + placed.Item + "'");
                }

                return;
            }

            context.Placed.Add(current!, (index, childName));
            context.Pending.Add(destination);

            return;
        }

        if (exists && IsContainer(child))
        {
            if (current is null)
            {
                throw new IncompatibleStateException(childName, "a container", "null");
            }

            PlanContainer(child, current, childName, depth + 1, context);
            return;
        }

        // A value the target lacks, or a plain value: decoded now (its tensors allocated and queued), set
        // in its container only once every tensor is decoded.
        var value = Read(child, childName, depth + 1);
        if (value is null ? slotType.IsValueType && Nullable.GetUnderlyingType(slotType) is null : !slotType.IsInstanceOfType(value))
        {
            throw new IncompatibleStateException(childName, value is null ? "null" : $"a {value.GetType().Name}", $"a place that holds only {slotType.Name} values");
        }

        if (slot.Unwritable is var (container, containerName))
        {
            // Found now, not when the plan is applied after the arrays were already filled.
            throw new IncompatibleStateException(containerName, "a container whose value '" + childName + "' can be set",
                $"a {container.GetType().Name} that cannot take it (read-only, or fixed-size for a new key)");
        }

        context.Plan.Add(() => set(value));
    }

    /// <summary>
    /// A stored list of boxed numbers (a tensor restored as <c>object[]</c>, <c>ArrayList</c> or
    /// <c>List&lt;object&gt;</c>, docs/format.md §6.5) meets the target's list: as for a list stored element by
    /// element, the target must be a writable list of the same Count, whose elements are replaced once the
    /// tensor is decoded; its slots must hold any object (the stored elements are boxed).
    /// </summary>
    private void PlanBoxedInto(JsonElement child, object? current, string childName, int depth, IntoContext context)
    {
        var stored = (IList)Read(child, childName, depth + 1)!;
        var wanted = $"a list of {stored.Count} items";
        if (current is not IList list || current is Array { Rank: > 1 })
        {
            throw new IncompatibleStateException(childName, wanted, Describe(current));
        }

        if (list.Count != stored.Count)
        {
            throw new IncompatibleStateException(childName, wanted, $"a {current.GetType().Name} of {list.Count} items");
        }

        var elementType = current is Array array ? array.GetType().GetElementType()!
            : current.GetType().IsGenericType ? current.GetType().GetGenericArguments()[0] : typeof(object);
        if (elementType != typeof(object) || list.IsReadOnly)
        {
            throw new IncompatibleStateException(childName, wanted + " of boxed numbers", $"a {current.GetType().Name} that cannot take them (read-only, or of {elementType.Name} elements)");
        }

        context.Plan.Add(() =>
        {
            for (var i = 0; i < stored.Count; i++)
            {
                list[i] = stored[i];
            }
        });
    }

    private static string Describe(object? value) => value switch
    {
        null => "null",
        Array array => $"a {array.GetType().Name} of length {array.LongLength}",
        _ => $"a {value.GetType().Name}",
    };
}
