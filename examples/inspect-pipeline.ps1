<#
.SYNOPSIS
    Shows the pipeline state held in the checkpoints written by examples/PipelineResume.

.DESCRIPTION
    For each committed step (or only -Step), restores the step with Restore-Checkpoint and shows the
    pipeline's position within its epoch, the epoch, the shuffle key (implementation and key data),
    the number of batches consumed and the running hash. Reads only; changes nothing.

.PARAMETER Path
    The checkpoint directory PipelineResume wrote to.

.PARAMETER ModulePath
    The DataraxCkpt module manifest to import. Defaults to the build output ./out/DataraxCkpt/DataraxCkpt.psd1.

.PARAMETER Step
    Show only this step.

.EXAMPLE
    ./examples/inspect-pipeline.ps1 -Path /tmp/resume-demo

.EXAMPLE
    ./examples/inspect-pipeline.ps1 /tmp/resume-demo -Step 120 | Format-List
#>
[CmdletBinding()]
param(
    [Parameter(Mandatory, Position = 0)]
    [string] $Path,

    [string] $ModulePath = './out/DataraxCkpt/DataraxCkpt.psd1',

    [long] $Step
)

$ErrorActionPreference = 'Stop'
Import-Module -Name $ModulePath

$checkpoints = if ($PSBoundParameters.ContainsKey('Step')) {
    Get-Checkpoint -Path $Path -Step $Step
} else {
    Get-Checkpoint -Path $Path
}

foreach ($checkpoint in $checkpoints) {
    $state = Restore-Checkpoint -Path $Path -Step $checkpoint.Step
    # PipelineResume saves { pipeline = { position, epoch, key, fingerprint }, batches, hash }; a bare
    # pipeline saved with IteratorCheckpoint has the pipeline fields at the top level.
    $pipeline = if ($null -ne $state.pipeline) { $state.pipeline } else { $state }
    [pscustomobject]@{
        Step     = $checkpoint.Step
        Epoch    = $pipeline.epoch
        Position = $pipeline.position
        KeyImpl  = $pipeline.key.Impl
        KeyData  = '[' + ($pipeline.key.KeyData -join ', ') + ']'
        Batches  = $state.batches
        Hash     = $state.hash
        Created  = $checkpoint.CreatedUtc
    }
}
