using System.Management.Automation;

namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>
/// A cmdlet that works on existing checkpoint directories named by -Path (wildcards) or -LiteralPath
/// (also bound from the PSPath or Directory property of piped objects, never from Path, which on a
/// checkpoint record is the step's folder).
/// </summary>
public abstract class DirectoryCommandBase : CheckpointCommandBase
{
    /// <summary>The checkpoint directory. Wildcards are expanded; piped strings bind here (<c>'./ck' | Get-Checkpoint</c>).</summary>
    [Parameter(Mandatory = true, Position = 0, ParameterSetName = PathSet, ValueFromPipeline = true)]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [PipedDirectory]
    public string[] Path { get; set; } = Array.Empty<string>();

    /// <summary>The checkpoint directory, taken literally; bound from the Directory (or PSPath) of piped objects.</summary>
    [Parameter(Mandatory = true, ParameterSetName = LiteralPathSet, ValueFromPipelineByPropertyName = true)]
    [Alias("PSPath", "Directory")]
    [ValidateNotNullOrEmpty]
    public string[] LiteralPath { get; set; } = Array.Empty<string>();
}
