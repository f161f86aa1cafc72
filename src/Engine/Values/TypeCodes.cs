using System.Collections;
using System.Collections.Specialized;
using System.Numerics;
using System.Numerics.Tensors;

namespace DataraxCkpt.Values;

/// <summary>
/// The fixed set of .NET types a checkpoint may name, and their codes in the manifest.
/// Restoring instantiates only types this class resolves: a code in a file can never name an
/// arbitrary type. Codes compose: <c>f32[]</c> (array), <c>dict&lt;str,any&gt;</c>, <c>list&lt;i64&gt;</c>,
/// <c>tensor&lt;f32&gt;</c>, <c>i32?</c> (a nullable scalar), <c>arraylist</c>.
/// </summary>
internal static class TypeCodes
{
    // The codes of the leaf types, as written into manifests: the table below and the encoder's fast path name the
    // same constants, so that the bytes of a code have one source.

    /// <summary>The code of <see cref="bool"/>.</summary>
    public const string Bool = "bool";

    /// <summary>The code of <see cref="sbyte"/>.</summary>
    public const string SByte = "i8";

    /// <summary>The code of <see cref="byte"/>.</summary>
    public const string Byte = "u8";

    /// <summary>The code of <see cref="short"/>.</summary>
    public const string Int16 = "i16";

    /// <summary>The code of <see cref="ushort"/>.</summary>
    public const string UInt16 = "u16";

    /// <summary>The code of <see cref="int"/>.</summary>
    public const string Int32 = "i32";

    /// <summary>The code of <see cref="uint"/>.</summary>
    public const string UInt32 = "u32";

    /// <summary>The code of <see cref="long"/>.</summary>
    public const string Int64 = "i64";

    /// <summary>The code of <see cref="ulong"/>.</summary>
    public const string UInt64 = "u64";

    /// <summary>The code of <see cref="Int128"/>.</summary>
    public const string Int128 = "i128";

    /// <summary>The code of <see cref="UInt128"/>.</summary>
    public const string UInt128 = "u128";

    /// <summary>The code of <see cref="nint"/>.</summary>
    public const string NInt = "nint";

    /// <summary>The code of <see cref="nuint"/>.</summary>
    public const string NUInt = "nuint";

    /// <summary>The code of <see cref="BigInteger"/>.</summary>
    public const string BigInteger = "bigint";

    /// <summary>The code of <see cref="Half"/>.</summary>
    public const string Half = "f16";

    /// <summary>The code of <see cref="float"/>.</summary>
    public const string Single = "f32";

    /// <summary>The code of <see cref="double"/>.</summary>
    public const string Double = "f64";

    /// <summary>The code of <see cref="decimal"/>.</summary>
    public const string Decimal = "dec";

    /// <summary>The code of <see cref="char"/>.</summary>
    public const string Char = "char";

    /// <summary>The code of <see cref="string"/>.</summary>
    public const string String = "str";

    /// <summary>The code of <see cref="DateTime"/>.</summary>
    public const string DateTime = "datetime";

    /// <summary>The code of <see cref="DateTimeOffset"/>.</summary>
    public const string DateTimeOffset = "dto";

    /// <summary>The code of <see cref="TimeSpan"/>.</summary>
    public const string TimeSpan = "timespan";

    /// <summary>The code of <see cref="Guid"/>.</summary>
    public const string Guid = "guid";

    /// <summary>The code of <see cref="PrngKey"/>.</summary>
    public const string PrngKey = "key";

    /// <summary>The code of <see cref="object"/>.</summary>
    public const string Any = "any";

    /// <summary>The code of <see cref="Hashtable"/>.</summary>
    public const string Hashtable = "hashtable";

    /// <summary>The code of <see cref="OrderedDictionary"/>.</summary>
    public const string Ordered = "ordered";

    /// <summary>The code of <see cref="StateObject"/>.</summary>
    public const string PSObject = "psobject";

    /// <summary>The code of <see cref="ArrayList"/>.</summary>
    public const string ArrayList = "arraylist";

    // The codes of composed and node-only types, as written into manifests (docs/format.md §2.2): the encoder and the
    // decoder name these constants, so that the bytes of a code have one source.

    /// <summary>What an array code adds to its element's code (<c>f32[]</c>, <c>any[]</c>).</summary>
    public const string ArraySuffix = "[]";

    /// <summary>The code of <see cref="object"/>[] (a PowerShell array).</summary>
    public const string AnyArray = Any + ArraySuffix;

    /// <summary>The code of a <see cref="PrngKey"/>[] node, whose keys are its children (field <c>i</c>).</summary>
    public const string KeyArray = PrngKey + ArraySuffix;

    /// <summary>The code of a tensor node (its data in the tensor table), and the head of <c>tensor&lt;T&gt;</c>.</summary>
    public const string Tensor = "tensor";

    /// <summary>The head of <c>list&lt;T&gt;</c>, a <see cref="List{T}"/>.</summary>
    public const string List = "list";

    /// <summary>The head of <c>dict&lt;K,V&gt;</c>, a <see cref="Dictionary{TKey, TValue}"/>.</summary>
    public const string Dict = "dict";

    /// <summary>Deepest composition a code may have (e.g. <c>f32[][][]</c>); bounds the parser.</summary>
    private const int MaxCodeDepth = 16;

    private static readonly Dictionary<Type, string> LeafCodes = new()
    {
        [typeof(bool)] = Bool,
        [typeof(sbyte)] = SByte,
        [typeof(byte)] = Byte,
        [typeof(short)] = Int16,
        [typeof(ushort)] = UInt16,
        [typeof(int)] = Int32,
        [typeof(uint)] = UInt32,
        [typeof(long)] = Int64,
        [typeof(ulong)] = UInt64,
        [typeof(Int128)] = Int128,
        [typeof(UInt128)] = UInt128,
        [typeof(nint)] = NInt,
        [typeof(nuint)] = NUInt,
        [typeof(BigInteger)] = BigInteger,
        [typeof(Half)] = Half,
        [typeof(float)] = Single,
        [typeof(double)] = Double,
        [typeof(decimal)] = Decimal,
        [typeof(char)] = Char,
        [typeof(string)] = String,
        [typeof(DateTime)] = DateTime,
        [typeof(DateTimeOffset)] = DateTimeOffset,
        [typeof(TimeSpan)] = TimeSpan,
        [typeof(Guid)] = Guid,
        [typeof(PrngKey)] = PrngKey,
        [typeof(object)] = Any,
        [typeof(Hashtable)] = Hashtable,
        [typeof(OrderedDictionary)] = Ordered,
        [typeof(StateObject)] = PSObject,
        [typeof(ArrayList)] = ArrayList,
    };

    private static readonly Dictionary<string, Type> TypesByCode = LeafCodes.ToDictionary(p => p.Value, p => p.Key, StringComparer.Ordinal);

    /// <summary>Element types that are stored as tensor bytes, with their element size.</summary>
    private static readonly Dictionary<Type, int> TensorElementSizes = new()
    {
        [typeof(bool)] = 1,
        [typeof(sbyte)] = 1,
        [typeof(byte)] = 1,
        [typeof(short)] = 2,
        [typeof(ushort)] = 2,
        [typeof(int)] = 4,
        [typeof(uint)] = 4,
        [typeof(long)] = 8,
        [typeof(ulong)] = 8,
        [typeof(Half)] = 2,
        [typeof(float)] = 4,
        [typeof(double)] = 8,
        [typeof(char)] = 2,
    };

    /// <summary>True when arrays of <paramref name="elementType"/> are stored as tensors.</summary>
    public static bool IsTensorElement(Type elementType) => TensorElementSizes.ContainsKey(elementType);

    /// <summary>Byte size of a tensor element type.</summary>
    public static int ElementSize(Type elementType) => TensorElementSizes[elementType];

    /// <summary>Tensor dtype code, e.g. <c>f32</c>.</summary>
    public static string DTypeOf(Type elementType) => LeafCodes[elementType];

    /// <summary>Resolves a tensor dtype code, or returns null for an unknown one.</summary>
    public static Type? TryResolveDType(string dtype) =>
        TypesByCode.TryGetValue(dtype, out var t) && TensorElementSizes.ContainsKey(t) ? t : null;

    /// <summary>True when <paramref name="type"/> is <c>Tensor&lt;T&gt;</c> of a tensor element type.</summary>
    public static bool IsTensorType(Type type, out Type elementType)
    {
        if (type.IsGenericType && type.GetGenericTypeDefinition() == typeof(Tensor<>))
        {
            elementType = type.GetGenericArguments()[0];
            return IsTensorElement(elementType);
        }

        elementType = typeof(void);
        return false;
    }

    /// <summary>The code of a supported type, or null when the type cannot be stored.</summary>
    public static string? TryGetCode(Type type) => TryGetCode(type, 0);

    private static string? TryGetCode(Type type, int depth)
    {
        if (depth > MaxCodeDepth)
        {
            return null;
        }

        if (LeafCodes.TryGetValue(type, out var code))
        {
            return code;
        }

        if (Nullable.GetUnderlyingType(type) is { } underlying)
        {
            return IsNullableScalar(underlying) ? LeafCodes[underlying] + "?" : null;
        }

        if (type.IsSZArray)
        {
            var inner = TryGetCode(type.GetElementType()!, depth + 1);
            return inner is null ? null : inner + ArraySuffix;
        }

        if (type.IsArray)
        {
            var element = type.GetElementType()!;
            var inner = IsTensorElement(element) ? LeafCodes[element] : null;
            return inner is null ? null : inner + "[" + new string(',', type.GetArrayRank() - 1) + "]";
        }

        if (!type.IsGenericType)
        {
            return null;
        }

        var definition = type.GetGenericTypeDefinition();
        var args = type.GetGenericArguments();
        if (definition == typeof(Dictionary<,>))
        {
            var k = IsKeyType(args[0]) ? TryGetCode(args[0], depth + 1) : null;
            var v = TryGetCode(args[1], depth + 1);
            return k is null || v is null ? null : $"{Dict}<{k},{v}>";
        }

        if (definition == typeof(List<>))
        {
            var e = TryGetCode(args[0], depth + 1);
            return e is null ? null : $"{List}<{e}>";
        }

        if (definition == typeof(Tensor<>) && IsTensorElement(args[0]))
        {
            return $"{Tensor}<{LeafCodes[args[0]]}>";
        }

        return null;
    }

    /// <summary>Value types that may be stored as <c>T?</c> (nullable): the scalar leaves of the fixed set.</summary>
    private static bool IsNullableScalar(Type type) =>
        type.IsValueType && LeafCodes.ContainsKey(type);

    /// <summary>Types allowed as dictionary keys: strings and integers.</summary>
    public static bool IsKeyType(Type type) =>
        type == typeof(string) || type == typeof(object) || type == typeof(int) || type == typeof(long) || type == typeof(short)
        || type == typeof(sbyte) || type == typeof(byte) || type == typeof(ushort) || type == typeof(uint) || type == typeof(ulong);

    /// <summary>Resolves a code to its type.</summary>
    /// <exception cref="FormatException">The code is not in the fixed set.</exception>
    public static Type Resolve(string code)
    {
        var pos = 0;
        var type = Parse(code, ref pos, 0);
        if (pos != code.Length)
        {
            throw new FormatException($"unknown type code '{Truncate(code)}'");
        }

        return type;
    }

    private static Type Parse(string code, ref int pos, int depth)
    {
        if (depth > MaxCodeDepth)
        {
            throw new FormatException($"type code '{Truncate(code)}' nests too deeply");
        }

        var start = pos;
        while (pos < code.Length && (char.IsAsciiLetterOrDigit(code[pos])))
        {
            pos++;
        }

        var name = code[start..pos];
        Type type;
        if (pos < code.Length && code[pos] == '<')
        {
            pos++;
            var first = Parse(code, ref pos, depth + 1);
            Type? second = null;
            if (pos < code.Length && code[pos] == ',')
            {
                pos++;
                second = Parse(code, ref pos, depth + 1);
            }

            Expect(code, ref pos, '>');
            type = (name, second) switch
            {
                (Dict, not null) when IsKeyType(first) && TryGetCode(second) is not null => typeof(Dictionary<,>).MakeGenericType(first, second),
                (List, null) => typeof(List<>).MakeGenericType(first),
                (Tensor, null) when IsTensorElement(first) => typeof(Tensor<>).MakeGenericType(first),
                _ => throw new FormatException($"unknown type code '{Truncate(code)}'"),
            };
        }
        else if (!TypesByCode.TryGetValue(name, out type!))
        {
            throw new FormatException($"unknown type code '{Truncate(code)}'");
        }

        if (pos < code.Length && code[pos] == '?')
        {
            pos++;
            if (!IsNullableScalar(type))
            {
                throw new FormatException($"type code '{Truncate(code)}' makes a non-scalar type nullable");
            }

            type = typeof(Nullable<>).MakeGenericType(type);
        }

        while (pos < code.Length && code[pos] == '[')
        {
            pos++;
            var rank = 1;
            while (pos < code.Length && code[pos] == ',')
            {
                rank++;
                pos++;
            }

            Expect(code, ref pos, ']');
            if (++depth > MaxCodeDepth || rank > 32)
            {
                throw new FormatException($"type code '{Truncate(code)}' nests too deeply");
            }

            if (rank > 1 && !IsTensorElement(type))
            {
                throw new FormatException($"type code '{Truncate(code)}' has a multi-dimensional array of a non-numeric type");
            }

            type = rank == 1 ? type.MakeArrayType() : type.MakeArrayType(rank);
        }

        return type;
    }

    private static void Expect(string code, ref int pos, char c)
    {
        if (pos >= code.Length || code[pos] != c)
        {
            throw new FormatException($"malformed type code '{Truncate(code)}'");
        }

        pos++;
    }

    private static string Truncate(string s) => s.Length <= 64 ? s : s[..64] + "…";
}
