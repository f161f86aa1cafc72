using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Lists the leaves of a checkpoint step (name, kind, dtype, shape, sizes) from the index, without decompressing anything.</para>
/// <para type="description">The latest step unless -Step is given; -Name filters leaf names such as <c>params/*/kernel</c> with wildcards.</para>
/// </summary>
[Cmdlet(VerbsCommon.Get, "CheckpointItem", DefaultParameterSetName = PathSet, HelpUri = HelpLinks.Base + "Get-CheckpointItem.md")]
[OutputType("DataraxCkpt.CheckpointItemInfo")]
public sealed class GetCheckpointItemCommand : DirectoryCommandBase
{
    /// <summary>The step; the latest when omitted.</summary>
    [Parameter(Position = 1, ValueFromPipelineByPropertyName = true)]
    [ValidateRange(0, long.MaxValue)]
    [ArgumentCompleter(typeof(StepCompleter))]
    public long? Step { get; set; }

    /// <summary>Only leaves whose names match one of these wildcards.</summary>
    [Parameter]
    [ValidateNotNullOrEmpty]
    [SupportsWildcards]
    [ArgumentCompleter(typeof(ItemNameCompleter))]
    public string[]? Name { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        // The item-name grammar's wildcards are * and ? only (docs/format.md §6.3), as Restore-Checkpoint -Item
        // matches them: brackets and backticks are literal, so 'w[0]' lists the item w[0], never w0.
        var patterns = Name?.Select(n => new WildcardPattern(LiteralBrackets(n), WildcardOptions.CultureInvariant)).ToList();
        foreach (var directory in ExistingDirectories(ResolveDirectories(Path, LiteralPath)))
        {
            TryEngine(() =>
            {
                var step = Step ?? Handler.LatestStep(directory) ?? throw new NoCheckpointsException(directory);
                foreach (var item in Handler.GetItems(directory, step))
                {
                    if (patterns is null || patterns.Any(p => p.IsMatch(item.Name)))
                    {
                        WriteObject(item);
                    }
                }
            }, directory);
        }
    }

    private static string LiteralBrackets(string pattern) =>
        pattern.Replace("`", "``", StringComparison.Ordinal).Replace("[", "`[", StringComparison.Ordinal).Replace("]", "`]", StringComparison.Ordinal);
}
