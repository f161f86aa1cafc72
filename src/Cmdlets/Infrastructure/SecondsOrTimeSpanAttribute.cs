using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Lets a TimeSpan parameter take a plain number as seconds: PowerShell would otherwise read
/// <c>-LockTimeout 5</c> as five ticks (half a microsecond), which silently means "do not wait".
/// Strings ('00:00:05') get PowerShell's usual conversion. A negative wait is refused: it would fail at
/// once with a nonsense duration, and some users mean "forever" by -1 ([timespan]::MaxValue says that).
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class SecondsOrTimeSpanAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        object? result = value switch
        {
            int or long or short or byte or uint or ulong or ushort or sbyte or double or float or decimal =>
                TimeSpan.FromSeconds(Convert.ToDouble(value, System.Globalization.CultureInfo.InvariantCulture)),
            TimeSpan given => given,
            string text when LanguagePrimitives.TryConvertTo(text, out TimeSpan parsed) => parsed,
            _ => inputData,
        };

        if (result is TimeSpan span && span < TimeSpan.Zero)
        {
            throw new ArgumentTransformationMetadataException(
                $"A wait of {span} is negative; give zero or more seconds (0 does not wait), or [timespan]::MaxValue to wait as long as it takes.");
        }

        return result;
    }
}
