namespace DataraxCkpt.Commands.Conversion;

/// <summary>
/// What a typed dictionary's slots hold, for the conversions both ways: a converted value is stored in a typed
/// dictionary only where its value type takes it (a <c>[Dictionary[int,psobject]]</c> cannot hold the engine's object,
/// a <c>[Dictionary[int, Dictionary[string,object]]]</c> cannot hold an ordered dictionary).
/// </summary>
internal static class SlotTypes
{
    /// <summary>A generic dictionary's value type (object for a dictionary that is not generic).</summary>
    public static Type ValueType(object dictionary) =>
        dictionary.GetType() is { IsGenericType: true } type && type.GetGenericArguments() is [_, var value] ? value : typeof(object);

    /// <summary>A list's item type: an array's element type, a generic list's argument (object for ArrayList).</summary>
    public static Type ItemType(System.Collections.IList list) => list.GetType() switch
    {
        { IsArray: true } array => array.GetElementType()!,
        { IsGenericType: true } generic when generic.GetGenericArguments() is [var item] => item,
        _ => typeof(object),
    };

    /// <summary>Whether <paramref name="value"/> can be stored in a slot of type <paramref name="slot"/>.</summary>
    public static bool Fits(Type slot, object? value) =>
        value is null ? !slot.IsValueType || Nullable.GetUnderlyingType(slot) is not null : slot.IsInstanceOfType(value);
}
