#requires -Version 7.4
<#
.SYNOPSIS
    Inspects a checkpoint directory: what is in a step, how two steps differ, and whether everything is intact.

.PARAMETER ModuleRoot
    Folder of the built module (default: out/DataraxCkpt of this repository).

.PARAMETER Directory
    The checkpoint directory to inspect. Omitted: a small demonstration store is made (and removed).

.EXAMPLE
    ./examples/inspect.ps1 -Directory /data/runs/run-a
#>
param(
    [string] $ModuleRoot = (Join-Path $PSScriptRoot '../out/DataraxCkpt'),
    [string] $Directory
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleRoot 'DataraxCkpt.psd1') -Force

$demo = -not $Directory
if ($demo) {
    $Directory = Join-Path ([IO.Path]::GetTempPath()) ('dataraxckpt-inspect-' + [guid]::NewGuid().ToString('N'))
    $kernel = [float[,]]::new(64, 32)
    foreach ($step in 100, 200) {
        $kernel[0, 0] = $step / 100
        [ordered]@{
            params    = [ordered]@{ linear = [ordered]@{ kernel = $kernel; bias = [float[]]::new(32) } }
            optimizer = [pscustomobject]@{ lr = 0.001; beta = 0.9 }
            position  = $step
        } | Save-Checkpoint $Directory -Step $step -Metadata @{ description = "step $step" }
    }
}

try {
    $steps = @(Get-CheckpointStep -LiteralPath $Directory)
    if ($steps.Count -eq 0) { "No checkpoints in $Directory"; return }

    '== Steps'
    Get-Checkpoint -LiteralPath $Directory | Format-Table | Out-String -Width 160

    '== What is in the latest step'
    Get-CheckpointItem -LiteralPath $Directory | Format-Table | Out-String -Width 160

    if ($steps.Count -ge 2) {
        "== What changed from step $($steps[-2]) to step $($steps[-1])"
        Compare-Checkpoint -LiteralPath $Directory -ReferenceStep $steps[-2] -DifferenceStep $steps[-1] |
            Format-Table Name, Change, DTypeBefore, DTypeAfter, MaxAbsDifference | Out-String -Width 160
    }

    '== Integrity'
    Test-Checkpoint -LiteralPath $Directory | Format-Table | Out-String -Width 160
    if (Test-Checkpoint -LiteralPath $Directory -Quiet) { 'Every step is intact.' } else { 'DAMAGE FOUND'; exit 1 }
}
finally {
    if ($demo) { Remove-Item -LiteralPath $Directory -Recurse -Force -ErrorAction Ignore }
}
