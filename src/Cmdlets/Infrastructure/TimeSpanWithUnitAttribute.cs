using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Refuses a positive plain number for an age: PowerShell would read <c>-OlderThan 7</c> (meant as days, or
/// read from <c>[int]$env:MAX_AGE_DAYS</c>) as seven ticks, and retention would remove every step but the
/// newest. A number has no unit, so the user must give one. Zero and negative numbers pass through as
/// TimeSpans so that the rule check refuses them as keeping nothing; strings and TimeSpans pass unchanged.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class TimeSpanWithUnitAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is not (int or long or short or byte or uint or ulong or ushort or sbyte or double or float or decimal))
        {
            return inputData;
        }

        var number = Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture);
        if (number <= 0)
        {
            return TimeSpan.Zero;
        }

        throw new ArgumentTransformationMetadataException(
            $"{value} has no unit (PowerShell would read it as {value} ticks of 100 ns). Give a span with its unit: (New-TimeSpan -Days {value}), (New-TimeSpan -Hours {value}), or '{value}.00:00:00' for days.");
    }
}
