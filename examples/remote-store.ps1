#requires -Version 7.4
<#
.SYNOPSIS
    The quick start on Azure Blob storage: save locally, copy the steps up to an az:// location, save and list
    there, restore, verify, copy back down bit-exact, and clean up the remote steps.

.DESCRIPTION
    Needs credentials for the storage account in the environment: AZURE_STORAGE_CONNECTION_STRING (Azurite's
    included; build.ps1 -Task Example and the tests pass the one of the Azurite they start), or
    AZURE_STORAGE_ACCOUNT with a sign-in Azure.Identity can use (az login, a managed identity).

.PARAMETER ModuleRoot
    Folder of the built module (default: out/DataraxCkpt of this repository).

.PARAMETER Location
    The remote location to use (default: az://dataraxckpt-example-<random>/runs/run-1, a new container).

.EXAMPLE
    $env:AZURE_STORAGE_CONNECTION_STRING = '<connection string>'; ./examples/remote-store.ps1
#>
param(
    [string] $ModuleRoot = (Join-Path $PSScriptRoot '../out/DataraxCkpt'),
    [string] $Location = ('az://dataraxckpt-example-' + [guid]::NewGuid().ToString('N').Substring(0, 12) + '/runs/run-1')
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleRoot 'DataraxCkpt.psd1') -Force

$local = Join-Path ([IO.Path]::GetTempPath()) ('dataraxckpt-remote-' + [guid]::NewGuid().ToString('N'))
$back = "$local-back"
try {
    # --- Local steps first, as in the quick start --------------------------------------------------
    $weights = [float[]]::new(1000)
    for ($i = 0; $i -lt $weights.Length; $i++) { $weights[$i] = [math]::Sin($i) }
    foreach ($step in 100, 200) {
        @{ w = $weights; position = $step; epoch = 5 } | Save-Checkpoint $local -Step $step -Metadata @{ loss = $step / 1000 }
    }

    # --- Up to the store: the same commands, a remote location --------------------------------------
    Copy-Checkpoint $local -Destination $Location
    @{ w = $weights; position = 300; epoch = 6 } | Save-Checkpoint $Location -Step 300
    "Remote steps: $((Get-CheckpointStep $Location) -join ', ')"
    Get-Checkpoint $Location | Format-Table Step, ItemCount, Pinned -AutoSize | Out-String -Stream | Where-Object { $_ }

    $state = Restore-Checkpoint $Location
    "Restored position $($state.position), epoch $($state.epoch) from $Location"
    "Verified: $(Test-Checkpoint $Location -Quiet)"

    # --- Back down, bit-exact ----------------------------------------------------------------------
    Copy-Checkpoint $Location -Destination $back -Step 100
    $a = [byte[]]::new($weights.Length * 4); [Buffer]::BlockCopy($weights, 0, $a, 0, $a.Length)
    $restored = (Restore-Checkpoint $back -Step 100).w
    $b = [byte[]]::new($restored.Length * 4); [Buffer]::BlockCopy($restored, 0, $b, 0, $b.Length)
    "Copied back bit-exact: $([Linq.Enumerable]::SequenceEqual($a, $b))"

    # A missing container is the same error as a missing directory.
    try { Get-Checkpoint 'az://dataraxckpt-no-such-container/run' }
    catch { "As expected: $($_.FullyQualifiedErrorId)" }
}
finally {
    # The remote steps go (the container stays: deleting containers is the account owner's call).
    Get-Checkpoint $Location -ErrorAction Ignore | Remove-Checkpoint -Force -Confirm:$false -ErrorAction Continue
    Remove-Item -LiteralPath $local, $back -Recurse -Force -ErrorAction Ignore
}
