using System.Collections;
using System.Collections.Specialized;
using System.Numerics;
using DataraxCkpt.Values;

namespace DataraxCkpt.Tests.Values;

/// <summary>
/// The public code constants of <see cref="TypeCodes"/> are the codes its table writes and resolves, spelled as the
/// format has always written them: the encoder's fast path names the constants, so a constant that drifted from the
/// table (or from the format) would write a code no reader of older files expects.
/// </summary>
public sealed class TypeCodeConstantTests
{
    public static TheoryData<string, Type, string> Codes => new()
    {
        { TypeCodes.Bool, typeof(bool), "bool" },
        { TypeCodes.SByte, typeof(sbyte), "i8" },
        { TypeCodes.Byte, typeof(byte), "u8" },
        { TypeCodes.Int16, typeof(short), "i16" },
        { TypeCodes.UInt16, typeof(ushort), "u16" },
        { TypeCodes.Int32, typeof(int), "i32" },
        { TypeCodes.UInt32, typeof(uint), "u32" },
        { TypeCodes.Int64, typeof(long), "i64" },
        { TypeCodes.UInt64, typeof(ulong), "u64" },
        { TypeCodes.Int128, typeof(Int128), "i128" },
        { TypeCodes.UInt128, typeof(UInt128), "u128" },
        { TypeCodes.NInt, typeof(nint), "nint" },
        { TypeCodes.NUInt, typeof(nuint), "nuint" },
        { TypeCodes.BigInteger, typeof(BigInteger), "bigint" },
        { TypeCodes.Half, typeof(Half), "f16" },
        { TypeCodes.Single, typeof(float), "f32" },
        { TypeCodes.Double, typeof(double), "f64" },
        { TypeCodes.Decimal, typeof(decimal), "dec" },
        { TypeCodes.Char, typeof(char), "char" },
        { TypeCodes.String, typeof(string), "str" },
        { TypeCodes.DateTime, typeof(DateTime), "datetime" },
        { TypeCodes.DateTimeOffset, typeof(DateTimeOffset), "dto" },
        { TypeCodes.TimeSpan, typeof(TimeSpan), "timespan" },
        { TypeCodes.Guid, typeof(Guid), "guid" },
        { TypeCodes.PrngKey, typeof(PrngKey), "key" },
        { TypeCodes.Any, typeof(object), "any" },
        { TypeCodes.Hashtable, typeof(Hashtable), "hashtable" },
        { TypeCodes.Ordered, typeof(OrderedDictionary), "ordered" },
        { TypeCodes.PSObject, typeof(StateObject), "psobject" },
        { TypeCodes.ArrayList, typeof(ArrayList), "arraylist" },
    };

    [Theory]
    [MemberData(nameof(Codes))]
    public void Each_leaf_constant_is_the_code_the_table_writes_and_resolves_spelled_as_the_format_writes_it(string constant, Type type, string written)
    {
        Assert.Equal(written, constant);
        Assert.Equal(constant, TypeCodes.TryGetCode(type));
        Assert.Equal(type, TypeCodes.Resolve(constant));
    }

    /// <summary>
    /// The codes of composed and node-only types (no leaf of the table): each constant as docs/format.md spells it in the
    /// node table (§2.2), and, where it names a type, the type the table composes with it.
    /// </summary>
    public static TheoryData<string, string, string> ComposedCodes => new()
    {
        { TypeCodes.AnyArray, "any[]", "`any[]`" },
        { TypeCodes.KeyArray, "key[]", "{\"t\":\"key[]\"" },
        { TypeCodes.Tensor, "tensor", "{\"t\":\"tensor\"" },
        { TypeCodes.List, "list", "`list<i32>`" },
        { TypeCodes.Dict, "dict", "`dict<i32,str>`" },
        { TypeCodes.ArraySuffix, "[]", "`str[]`" },
    };

    [Theory]
    [MemberData(nameof(ComposedCodes))]
    public void Each_composed_constant_is_spelled_as_docs_format_md_stores_it(string constant, string written, string inFormatDoc)
    {
        Assert.Equal(written, constant);
        Assert.Contains(inFormatDoc, FormatDoc.Value, StringComparison.Ordinal);
    }

    [Fact]
    public void The_composed_constants_compose_the_types_the_table_writes_and_resolves()
    {
        Assert.Equal(TypeCodes.AnyArray, TypeCodes.TryGetCode(typeof(object[])));
        Assert.Equal(typeof(object[]), TypeCodes.Resolve(TypeCodes.AnyArray));
        Assert.Equal(TypeCodes.KeyArray, TypeCodes.TryGetCode(typeof(PrngKey[])));
        Assert.Equal($"{TypeCodes.List}<{TypeCodes.Int32}>", TypeCodes.TryGetCode(typeof(List<int>)));
        Assert.Equal(typeof(List<int>), TypeCodes.Resolve($"{TypeCodes.List}<{TypeCodes.Int32}>"));
        Assert.Equal($"{TypeCodes.Dict}<{TypeCodes.Int32},{TypeCodes.String}>", TypeCodes.TryGetCode(typeof(Dictionary<int, string>)));
        Assert.Equal(typeof(Dictionary<int, string>), TypeCodes.Resolve($"{TypeCodes.Dict}<{TypeCodes.Int32},{TypeCodes.String}>"));
        Assert.Equal(typeof(System.Numerics.Tensors.Tensor<float>), TypeCodes.Resolve($"{TypeCodes.Tensor}<{TypeCodes.Single}>"));
        Assert.Equal(TypeCodes.Single + TypeCodes.ArraySuffix, TypeCodes.TryGetCode(typeof(float[])));
    }

    private static readonly Lazy<string> FormatDoc = new(() =>
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            var path = Path.Combine(dir.FullName, "docs", "format.md");
            if (File.Exists(path))
            {
                return File.ReadAllText(path);
            }
        }

        throw new FileNotFoundException("docs/format.md not found above the test's folder");
    });
}
