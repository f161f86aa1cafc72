namespace DataraxCkpt.Commands.Infrastructure;

/// <summary>Why a path resolved to nothing, where the caller treats causes differently.</summary>
internal enum PathFailure
{
    /// <summary>Resolved, or refused for a reason every caller reports alike.</summary>
    None,

    /// <summary>The provider raised an exception for the path (unknown drive or provider, unsupported form).</summary>
    ProviderRefused,

    /// <summary>A wildcard's parent folder does not exist.</summary>
    PathNotFound,
}
