using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// Lets -Path take piped strings (<c>'./ck' | Get-Checkpoint</c>) without mangling piped records. PowerShell binds
/// pipeline input within the default (-Path) parameter set first and would convert a checkpoint record to its
/// display text; a piped object with a <c>Directory</c> property gives that directory instead, escaped so that
/// it is taken literally, as -LiteralPath would.
/// </summary>
[AttributeUsage(AttributeTargets.Property | AttributeTargets.Field)]
public sealed class PipedDirectoryAttribute : ArgumentTransformationAttribute
{
    /// <inheritdoc />
    public override object? Transform(EngineIntrinsics engineIntrinsics, object? inputData)
    {
        var value = inputData is PSObject pso ? pso.BaseObject : inputData;
        if (value is null or string or string[] || inputData is null)
        {
            return inputData;
        }

        var wrapped = PSObject.AsPSObject(inputData);
        return wrapped.Properties["Directory"]?.Value is string directory
            ? (CheckpointLocation.IsRemote(directory) ? directory : WildcardPattern.Escape(directory))
            : inputData;
    }
}
