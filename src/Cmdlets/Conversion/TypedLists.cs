using System.Collections;
using System.Collections.Specialized;

namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// Typed lists and arrays (<c>[List[hashtable]]</c>, <c>[hashtable[]]</c>, <c>[List[OrderedDictionary]]</c> ...) whose
/// items can hold what the conversions change: a PSCustomObject on the way to the engine, the engine's object on the way
/// back. Both conversions walk the items of only these, so a typed list of numbers or strings (<c>[int[]]</c>, a tensor
/// as <c>[float[]]</c>, <c>[List[double]]</c>) is never walked, and is handed over as it is.
/// </summary>
/// <remarks>
/// Only the types the engine can store are named (an array of one dimension or a <c>List&lt;T&gt;</c> of exactly that
/// type, of items of a type it stores), so a converted item always fits its slot: the conversion of a Hashtable is a
/// Hashtable, of a <c>List&lt;T&gt;</c> a <c>List&lt;T&gt;</c>. <c>[psobject[]]</c> is not one (the engine has no type
/// for PowerShell's wrapper and refuses it, docs/cmdlets.md), nor a subclass (a PowerShell class deriving from
/// <c>List[hashtable]</c>), which the engine refuses too; <c>object[]</c> and <c>List&lt;object&gt;</c> have their
/// own paths in the conversions and are not asked about.
/// </remarks>
internal static class TypedLists
{
    // Element types nest (hashtable[][], List[List[hashtable]]); the engine's type codes nest at most 16 deep
    // (TypeCodes.MaxCodeDepth), so a deeper type is refused there and need not be looked into further here.
    private const int MaxDepth = 16;

    /// <summary>
    /// True when <paramref name="listType"/> is an array of one dimension or a <c>List&lt;T&gt;</c> whose items may hold
    /// a container the conversions change; <paramref name="element"/> is then its item type.
    /// </summary>
    public static bool HoldsContainers(Type listType, out Type element)
    {
        element = typeof(object);
        if (listType.IsSZArray)
        {
            element = listType.GetElementType()!;
        }
        else if (listType.IsGenericType && listType.GetGenericTypeDefinition() == typeof(List<>))
        {
            element = listType.GetGenericArguments()[0];
        }
        else
        {
            return false;
        }

        return MayHoldContainers(element, 0);
    }

    // Whether a value of this type may be, or hold, a container whose conversion differs from it.
    private static bool MayHoldContainers(Type type, int depth)
    {
        if (type == typeof(object) || type == typeof(Hashtable) || type == typeof(OrderedDictionary) || type == typeof(ArrayList))
        {
            return true;
        }

        if (depth == MaxDepth)
        {
            return false;
        }

        if (type.IsSZArray)
        {
            return MayHoldContainers(type.GetElementType()!, depth + 1);
        }

        if (!type.IsGenericType)
        {
            return false;
        }

        var definition = type.GetGenericTypeDefinition();
        var arguments = type.GetGenericArguments();
        return (definition == typeof(List<>) && MayHoldContainers(arguments[0], depth + 1))
            // A Dictionary<object,V>'s keys may be PSObject wrappers, which the conversion unwraps.
            || (definition == typeof(Dictionary<,>) && (arguments[0] == typeof(object) || MayHoldContainers(arguments[1], depth + 1)));
    }
}
