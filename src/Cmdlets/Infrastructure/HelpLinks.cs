namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>Where Get-Help -Online sends users: each cmdlet's page in the repository's docs/help.</summary>
internal static class HelpLinks
{
    /// <summary>The folder of the cmdlet help pages; a cmdlet's page is its name plus ".md".</summary>
    public const string Base = "https://github.com/dataraxckpt/DataraxCkpt/blob/main/docs/help/";
}
