namespace DataraxCkpt;

/// <summary>
/// Summary numbers of one tensor leaf of a step, computed by streaming its stored chunks
/// (<c>CheckpointHandler.GetStatistics</c>). Every number is raw (no units), so it sorts and filters as is.
/// </summary>
/// <remarks>
/// <para>Floating-point tensors (<c>f16</c>, <c>f32</c>, <c>f64</c>; <c>f16</c> widened exactly): NaN and ±∞
/// are counted, never averaged. <see cref="Min"/> and <see cref="Max"/> skip NaN but include ±∞ (null when
/// every element is NaN). <see cref="Mean"/>, <see cref="StandardDeviation"/> and <see cref="L2Norm"/> are
/// taken over the finite elements only; <see cref="Mean"/> and <see cref="StandardDeviation"/> are null when
/// there is no finite element, <see cref="L2Norm"/> is then 0. −0.0 counts as a zero.</para>
/// <para>Integer and <c>char</c> tensors (code units as unsigned 16-bit numbers): every element is finite, the
/// NaN and infinity counts are 0, the other numbers are those of the values (in double precision, so 64-bit
/// values beyond 2^53 are rounded). <c>bool</c> tensors: false is 0 and true is 1, so <see cref="ZeroCount"/>
/// is the number of false elements and <see cref="Mean"/> the fraction of true ones.</para>
/// <para>An empty tensor: <see cref="Count"/> 0, every other count 0, <see cref="L2Norm"/> 0, and
/// <see cref="Min"/>, <see cref="Max"/>, <see cref="Mean"/>, <see cref="StandardDeviation"/> null.</para>
/// <para><see cref="StandardDeviation"/> is the population standard deviation (divided by the number of
/// finite elements, as numpy's default <c>ddof=0</c>). Sums are compensated (Neumaier) and variances merged
/// with Chan's formula, so the result does not depend on the tensor's size or the number of cores: a tensor
/// of any number of 1.0 has a mean of exactly 1 and a standard deviation of exactly 0.</para>
/// </remarks>
/// <param name="Step">The step the tensor belongs to.</param>
/// <param name="Item">The leaf's name, as <c>GetItems</c> lists it.</param>
/// <param name="DType">The element type code (<c>f32</c>, <c>i64</c>, <c>bool</c>, …).</param>
/// <param name="Shape">The tensor's dimensions.</param>
/// <param name="Count">Number of elements.</param>
/// <param name="NaNCount">Elements that are NaN (any payload).</param>
/// <param name="PositiveInfinityCount">Elements that are +∞.</param>
/// <param name="NegativeInfinityCount">Elements that are −∞.</param>
/// <param name="ZeroCount">Elements equal to zero (+0.0 and −0.0; false for bool).</param>
/// <param name="Min">Smallest element ignoring NaN, or null when there is none.</param>
/// <param name="Max">Largest element ignoring NaN, or null when there is none.</param>
/// <param name="Mean">Mean of the finite elements, or null when there is none.</param>
/// <param name="StandardDeviation">Population standard deviation of the finite elements, or null when there is none.</param>
/// <param name="L2Norm">Euclidean norm of the finite elements (0 when there is none).</param>
public sealed record TensorStatistics(long Step, string Item, string DType, long[] Shape,
    long Count, long NaNCount, long PositiveInfinityCount, long NegativeInfinityCount, long ZeroCount,
    double? Min, double? Max, double? Mean, double? StandardDeviation, double? L2Norm)
{
    /// <summary>True when no element is NaN or ±∞ (always true for integer, char and bool tensors).</summary>
    public bool IsFinite => NaNCount == 0 && PositiveInfinityCount == 0 && NegativeInfinityCount == 0;

    /// <summary>Number of elements that are NaN, +∞ or −∞.</summary>
    public long NonFiniteCount => NaNCount + PositiveInfinityCount + NegativeInfinityCount;
}
