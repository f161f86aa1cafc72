using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.InteropServices;
using DataraxCkpt.Values;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Turns a tensor's raw little-endian element bytes into doubles, a block at a time: every tensor dtype
/// widens exactly to double except 64-bit integers beyond 2^53, which round. Bool bytes read as 0/1 (any
/// non-zero byte as 1, as a restored bool reads), char as its UTF-16 code unit.
/// </summary>
internal sealed class ElementWidening
{
    /// <summary>Elements widened at once: two double blocks stay in L1 while every statistic passes over them.</summary>
    public const int BlockLength = 2048;

    private readonly Type _elementType;

    public ElementWidening(string dtype)
    {
        _elementType = TypeCodes.TryResolveDType(dtype) ?? throw new InvalidDataException($"'{dtype}' is not a tensor dtype");
        ElementSize = TypeCodes.ElementSize(_elementType);
        IsFloatingPoint = _elementType == typeof(Half) || _elementType == typeof(float) || _elementType == typeof(double);
    }

    public int ElementSize { get; }

    /// <summary>True for f16, f32 and f64: the dtypes whose elements can be NaN or ±∞.</summary>
    public bool IsFloatingPoint { get; }

    /// <summary>True for f32, the common case, which the statistics widen in registers.</summary>
    public bool IsSingle => _elementType == typeof(float);

    /// <summary>float32, the common case, widened by SIMD lanes.</summary>
    private static void WidenSingles(ReadOnlySpan<float> source, Span<double> destination)
    {
        var i = 0;
        if (Vector.IsHardwareAccelerated)
        {
            for (; i <= source.Length - Vector<float>.Count; i += Vector<float>.Count)
            {
                Vector.Widen(new Vector<float>(source[i..]), out var low, out var high);
                low.CopyTo(destination[i..]);
                high.CopyTo(destination[(i + Vector<double>.Count)..]);
            }
        }

        for (; i < source.Length; i++)
        {
            destination[i] = source[i];
        }
    }

    /// <summary>Widens <c>destination.Length</c> elements from <paramref name="raw"/> (exactly that many elements' bytes).</summary>
    public void Widen(ReadOnlySpan<byte> raw, Span<double> destination)
    {
        var t = _elementType;
        if (t == typeof(float))
        {
            WidenSingles(MemoryMarshal.Cast<byte, float>(raw), destination);
        }
        else if (t == typeof(double))
        {
            MemoryMarshal.Cast<byte, double>(raw).CopyTo(destination);
        }
        else if (t == typeof(Half))
        {
            TensorPrimitives.ConvertTruncating<Half, double>(MemoryMarshal.Cast<byte, Half>(raw), destination);
        }
        else if (t == typeof(bool))
        {
            TensorPrimitives.ConvertTruncating<byte, double>(raw, destination);
            TensorPrimitives.Min(destination, 1.0, destination);
        }
        else if (t == typeof(byte))
        {
            TensorPrimitives.ConvertTruncating<byte, double>(raw, destination);
        }
        else if (t == typeof(sbyte))
        {
            TensorPrimitives.ConvertTruncating<sbyte, double>(MemoryMarshal.Cast<byte, sbyte>(raw), destination);
        }
        else if (t == typeof(short))
        {
            TensorPrimitives.ConvertTruncating<short, double>(MemoryMarshal.Cast<byte, short>(raw), destination);
        }
        else if (t == typeof(ushort) || t == typeof(char))
        {
            TensorPrimitives.ConvertTruncating<ushort, double>(MemoryMarshal.Cast<byte, ushort>(raw), destination);
        }
        else if (t == typeof(int))
        {
            TensorPrimitives.ConvertTruncating<int, double>(MemoryMarshal.Cast<byte, int>(raw), destination);
        }
        else if (t == typeof(uint))
        {
            TensorPrimitives.ConvertTruncating<uint, double>(MemoryMarshal.Cast<byte, uint>(raw), destination);
        }
        else if (t == typeof(long))
        {
            TensorPrimitives.ConvertTruncating<long, double>(MemoryMarshal.Cast<byte, long>(raw), destination);
        }
        else if (t == typeof(ulong))
        {
            TensorPrimitives.ConvertTruncating<ulong, double>(MemoryMarshal.Cast<byte, ulong>(raw), destination);
        }
        else
        {
            throw new InvalidDataException($"'{TypeCodes.DTypeOf(t)}' is not a numeric tensor dtype");
        }
    }
}
