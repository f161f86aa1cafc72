namespace DataraxCkpt;

/// <summary>
/// How far one tensor leaf moved between two steps, element by element
/// (<c>CheckpointHandler.CompareNumeric</c>). Only tensors present in both steps under the same name with
/// the same dtype and shape are compared; the structural comparison (<c>CheckpointHandler.Compare</c>)
/// reports the others.
/// </summary>
/// <remarks>
/// <para>Elements are compared as numbers (<c>f16</c> widened; bool as 0/1; <c>char</c> as its code unit),
/// so +0.0 and −0.0 are equal. An element that is NaN in both steps counts as unchanged and takes no part
/// in any sum (neither in ‖a − b‖ nor in ‖a‖). An element that is NaN in only one step counts as
/// different and, as IEEE arithmetic has it, makes <see cref="MaxAbsoluteDifference"/> and
/// <see cref="MeanAbsoluteDifference"/> NaN; <see cref="RelativeChange"/> is then +∞ (a NaN would sort
/// below every number and hide the tensor that broke). Equal infinities are
/// unchanged (difference 0); any other pair with an infinity differs by +∞.</para>
/// <para><see cref="RelativeChange"/> is ‖a − b‖₂ / ‖a‖₂ with a the tensor at <see cref="StepBefore"/>;
/// when ‖a‖₂ is 0 it is 0 if the tensors are equal and +∞ otherwise; where the ratio is undefined
/// (NaN in one step, ∞/∞) it is +∞. An empty tensor has every
/// difference 0.</para>
/// </remarks>
/// <param name="StepBefore">The step compared from (a).</param>
/// <param name="StepAfter">The step compared to (b).</param>
/// <param name="Item">The leaf's name.</param>
/// <param name="DType">The element type code, the same in both steps.</param>
/// <param name="Shape">The dimensions, the same in both steps.</param>
/// <param name="Count">Number of elements.</param>
/// <param name="DifferentCount">Elements whose values differ (see remarks for NaN).</param>
/// <param name="MaxAbsoluteDifference">Largest |a − b|.</param>
/// <param name="MeanAbsoluteDifference">Mean of |a − b| over all elements (0 for an empty tensor).</param>
/// <param name="RelativeChange">‖a − b‖₂ / ‖a‖₂ (see remarks).</param>
public sealed record TensorDifference(long StepBefore, long StepAfter, string Item, string DType, long[] Shape,
    long Count, long DifferentCount, double MaxAbsoluteDifference, double MeanAbsoluteDifference, double RelativeChange);
