#requires -Version 7.4
<#
.SYNOPSIS
    Shows the pipeline state held in the checkpoints written by examples/PipelineResume.

.DESCRIPTION
    For each committed step (or only -Step), restores the step with Restore-Checkpoint and shows the
    pipeline's position within its epoch, the epoch, the shuffle key (implementation and key data),
    the number of batches consumed and the running hash. Reads only; changes nothing.

.PARAMETER Path
    The checkpoint directory PipelineResume wrote to. Omitted: the example is run for 45 batches into
    a temporary directory (removed afterwards) to have something to show; that needs the dotnet CLI.

.PARAMETER ModulePath
    The DataraxCkpt module to import: its manifest or the folder holding it (alias -ModuleRoot, the
    convention of the module's other examples). Default: out/DataraxCkpt/DataraxCkpt.psd1 of this
    repository, i.e. ./out/DataraxCkpt/DataraxCkpt.psd1 from the repository root.

.PARAMETER Step
    Show only this step.

.EXAMPLE
    ./examples/inspect-pipeline.ps1 -Path /tmp/resume-demo

.EXAMPLE
    ./examples/inspect-pipeline.ps1 /tmp/resume-demo -Step 40 | Format-List
#>
[CmdletBinding()]
param(
    [Parameter(Position = 0)]
    [string] $Path,

    [Alias('ModuleRoot')]
    [string] $ModulePath = (Join-Path $PSScriptRoot '../out/DataraxCkpt/DataraxCkpt.psd1'),

    [long] $Step
)

$ErrorActionPreference = 'Stop'
if (Test-Path -LiteralPath $ModulePath -PathType Container) {
    $ModulePath = Join-Path $ModulePath 'DataraxCkpt.psd1'
}
Import-Module -Name $ModulePath

$demo = -not $Path
if ($demo) {
    # Run the C# example once so that there are pipeline checkpoints to show (steps 20, 30, 40).
    $project = Join-Path $PSScriptRoot 'PipelineResume/PipelineResume.csproj'
    $dll = Get-ChildItem -Path (Join-Path $PSScriptRoot 'PipelineResume/bin/*/net10.0/PipelineResume.dll') -ErrorAction Ignore |
        Select-Object -First 1
    if (-not $dll) {
        dotnet build $project --nologo --verbosity quiet | Out-Null
        if ($LASTEXITCODE -ne 0) { throw "Building $project failed." }
        $dll = Get-ChildItem -Path (Join-Path $PSScriptRoot 'PipelineResume/bin/*/net10.0/PipelineResume.dll') | Select-Object -First 1
    }
    $Path = Join-Path ([IO.Path]::GetTempPath()) ('dataraxckpt-pipeline-' + [guid]::NewGuid().ToString('N'))
    dotnet $dll.FullName $Path --batches 45 --every 10 --keep 3 | Out-Null
    if ($LASTEXITCODE -ne 0) { throw "PipelineResume failed with exit code $LASTEXITCODE." }
}

try {
    $checkpoints = if ($PSBoundParameters.ContainsKey('Step')) {
        Get-Checkpoint -Path $Path -Step $Step
    }
    else {
        Get-Checkpoint -Path $Path
    }

    foreach ($checkpoint in $checkpoints) {
        $state = Restore-Checkpoint -Path $Path -Step $checkpoint.Step
        # PipelineResume saves { pipeline = { position, epoch, key, fingerprint }, batches, hash }; a
        # bare pipeline saved with IteratorCheckpoint has the pipeline fields at the top level.
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
}
finally {
    if ($demo) {
        Remove-Item -LiteralPath $Path -Recurse -Force -ErrorAction Ignore
    }
}
