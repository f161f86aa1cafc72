using System.Management.Automation;
using DataraxCkpt.Commands.Infrastructure;

namespace DataraxCkpt.Commands;

/// <summary>
/// <para type="synopsis">Creates a JAX-compatible PRNG key (threefry2x32) from a seed, optionally folded in or split.</para>
/// <para type="description">The key type lives in the module's private load context, so PowerShell cannot name it;
/// this cmdlet is how a script makes keys to put into a checkpoint state.</para>
/// </summary>
[Cmdlet(VerbsCommon.New, "PrngKey", HelpUri = HelpLinks.Base + "New-PrngKey.md")]
[OutputType("DataraxCkpt.PrngKey", "DataraxCkpt.PrngKey[]")]
public sealed class NewPrngKeyCommand : PSCmdlet
{
    /// <summary>The seed, as <c>jax.random.key(seed)</c> takes it.</summary>
    [Parameter(Mandatory = true, Position = 0, ValueFromPipeline = true)]
    public long Seed { get; set; }

    /// <summary>Data folded into the key, in order, as <c>jax.random.fold_in</c> does.</summary>
    [Parameter]
    public uint[]? FoldIn { get; set; }

    /// <summary>Split the key into this many keys, as <c>jax.random.split</c> does; emitted as one array.</summary>
    [Parameter]
    [ValidateRange(1, 1 << 20)]
    public int? Split { get; set; }

    /// <inheritdoc />
    protected override void ProcessRecord()
    {
        var key = PrngKey.Create(Seed);
        foreach (var data in FoldIn ?? Array.Empty<uint>())
        {
            key = key.FoldIn(data);
        }

        if (Split is { } count)
        {
            // One array, as jax.random.split returns one key array: it is stored and restored as a key array.
            WriteObject(key.Split(count), enumerateCollection: false);
        }
        else
        {
            WriteObject(key);
        }
    }
}
