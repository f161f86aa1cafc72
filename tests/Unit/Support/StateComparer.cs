using System.Collections;
using System.Runtime.InteropServices;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// Compares a restored state with what was saved, value by value: arrays by element type, shape and
/// raw bytes, dictionaries by key, lists in order, everything else by Equals. Returns the path of the
/// first difference, so a fuzz or corruption test can say where a wrong value came back.
/// </summary>
public static class StateComparer
{
    /// <summary>Null when equal; otherwise where and how the two differ.</summary>
    public static string? FirstDifference(object? expected, object? actual, string path = "$")
    {
        switch (expected)
        {
            case null:
                return actual is null ? null : $"{path}: expected null, got {actual.GetType().Name}";
            case Array e when e.GetType().GetElementType()!.IsPrimitive:
                if (actual is not Array a || a.GetType() != e.GetType())
                {
                    return $"{path}: expected {e.GetType().Name}, got {actual?.GetType().Name ?? "null"}";
                }

                for (var d = 0; d < e.Rank; d++)
                {
                    if (e.GetLength(d) != a.GetLength(d))
                    {
                        return $"{path}: dimension {d} is {a.GetLength(d)}, expected {e.GetLength(d)}";
                    }
                }

                return Bytes(e).SequenceEqual(Bytes(a)) ? null : $"{path}: array bytes differ";
            case IDictionary e:
                if (actual is not IDictionary map)
                {
                    return $"{path}: expected a dictionary, got {actual?.GetType().Name ?? "null"}";
                }

                var expectedKeys = e.Keys.Cast<object>().Select(k => k.ToString()!).Order(StringComparer.Ordinal).ToList();
                var actualKeys = map.Keys.Cast<object>().Select(k => k.ToString()!).Order(StringComparer.Ordinal).ToList();
                if (!expectedKeys.SequenceEqual(actualKeys))
                {
                    return $"{path}: keys [{string.Join(", ", actualKeys)}], expected [{string.Join(", ", expectedKeys)}]";
                }

                foreach (DictionaryEntry entry in e)
                {
                    var match = map.Keys.Cast<object>().Single(k => k.ToString() == entry.Key.ToString());
                    if (FirstDifference(entry.Value, map[match], $"{path}.{entry.Key}") is { } why)
                    {
                        return why;
                    }
                }

                return null;
            case IList e when expected is not string:
                if (actual is not IList list || list.Count != e.Count)
                {
                    return $"{path}: expected a list of {e.Count}, got {(actual as IList)?.Count.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? actual?.GetType().Name ?? "null"}";
                }

                for (var i = 0; i < e.Count; i++)
                {
                    if (FirstDifference(e[i], list[i], $"{path}[{i}]") is { } why)
                    {
                        return why;
                    }
                }

                return null;
            default:
                return Equals(expected, actual) ? null : $"{path}: expected {expected}, got {actual ?? "null"}";
        }
    }

    private static ReadOnlySpan<byte> Bytes(Array array) =>
        MemoryMarshal.CreateSpan(ref MemoryMarshal.GetArrayDataReference(array), checked((int)Buffer.ByteLength(array)));
}
