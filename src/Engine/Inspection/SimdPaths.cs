using System.Runtime.Intrinsics;
using System.Runtime.Intrinsics.X86;

namespace DataraxCkpt.Inspection;

/// <summary>
/// Which vector width the float32 kernels of the statistics and the numeric diff use: 512-bit where the
/// processor and the runtime offer it (the runtime leaves <see cref="Vector512.IsHardwareAccelerated"/> false
/// on processors that slow down under 512-bit work), 256-bit otherwise. Tests switch the 512-bit kernels off
/// to run the 256-bit ones on the same machine; both give results within the same bounds.
/// </summary>
internal static class SimdPaths
{
    /// <summary>False makes the kernels take their 256-bit path (tests only).</summary>
    internal static bool Allow512 { get; set; } = true;

    /// <summary>True when the 512-bit float32 kernels run.</summary>
    public static bool Use512 => Allow512 && Vector512.IsHardwareAccelerated && Avx512F.IsSupported && Avx512DQ.IsSupported;

    /// <summary>True when the 256-bit float32 kernels can run (256-bit float and integer vectors, fused multiply-add).</summary>
    public static bool Use256 => Avx2.IsSupported && Fma.IsSupported;
}
