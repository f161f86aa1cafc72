#requires -Version 7.4
<#
.SYNOPSIS
    The checkpointing guide's flow in PowerShell: save with metadata and retention, restore the latest
    and a chosen step, list steps, overwrite, and handle a missing or empty directory.

.PARAMETER ModuleRoot
    Folder of the built module (default: out/DataraxCkpt of this repository).

.PARAMETER Directory
    Folder for the example's checkpoint directories (default: a new temporary folder, removed at the end).

.EXAMPLE
    ./examples/quickstart.ps1
#>
param(
    [string] $ModuleRoot = (Join-Path $PSScriptRoot '../out/DataraxCkpt'),
    [string] $Directory
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleRoot 'DataraxCkpt.psd1') -Force

$temporary = -not $Directory
if ($temporary) {
    $Directory = Join-Path ([IO.Path]::GetTempPath()) ('dataraxckpt-quickstart-' + [guid]::NewGuid().ToString('N'))
}

$training = Join-Path $Directory 'training'
$multiple = Join-Path $Directory 'multiple'
try {
    # --- Saving checkpoints -------------------------------------------------------------------
    $state = @{
        model_weights = [float[,]]::new(10, 10)   # stored as a 10x10 f32 tensor
        position      = 42
        epoch         = 5
    }
    $saved = $state | Save-Checkpoint $training -Step 100 -Keep 5 -Metadata @{ description = 'Training checkpoint' } -PassThru
    "Saved step $($saved.Step) ($($saved.ItemCount) items) to $($saved.Directory)"

    # --- Restoring checkpoints ----------------------------------------------------------------
    $restored = Restore-Checkpoint $training
    "Restored position $($restored.position), epoch $($restored.epoch), weights $($restored.model_weights.GetLength(0))x$($restored.model_weights.GetLength(1))"
    "Available steps: $((Get-CheckpointStep $training) -join ', ')"
    "Latest step: $(Get-CheckpointStep $training -Latest)"

    # --- Multiple checkpoints: keep only the last 5 --------------------------------------------
    foreach ($step in 0..99) {
        if ($step % 10 -eq 0) { @{ step = $step } | Save-Checkpoint $multiple -Step $step -Keep 5 }
    }
    "Checkpoints: $((Get-Checkpoint $multiple).Step -join ', ')"
    $older = Restore-Checkpoint $multiple -Step 90
    "Restored step 90: step = $($older.step)"

    # --- Overwriting a checkpoint ---------------------------------------------------------------
    $overwrite = Join-Path $Directory 'overwrite'
    @{ v = 1 } | Save-Checkpoint $overwrite -Step 1
    @{ v = 2 } | Save-Checkpoint $overwrite -Step 1 -Overwrite
    "Step 1 after overwrite: v = $((Restore-Checkpoint $overwrite -Step 1).v)"

    # --- Retention by hand: what would go, then go ----------------------------------------------
    $planned = Remove-Checkpoint $multiple -Keep 3 -WhatIf -PassThru
    "A retention run would remove: $($planned.Step -join ', ')"
    $removed = Remove-Checkpoint $multiple -Keep 3 -PassThru
    "Removed: $($removed.Step -join ', '); left: $((Get-CheckpointStep $multiple) -join ', ')"

    # --- Error handling -------------------------------------------------------------------------
    foreach ($candidate in (Join-Path $Directory 'does-not-exist'), $training) {
        if (Test-Path -LiteralPath $candidate) {
            if (Get-CheckpointStep -LiteralPath $candidate) {
                $null = Restore-Checkpoint -LiteralPath $candidate
                "Restored from step $(Get-CheckpointStep -LiteralPath $candidate -Latest)"
            }
            else { 'No checkpoints found' }
        }
        else { "Checkpoint directory doesn't exist: $candidate" }
    }
    try {
        Restore-Checkpoint $training -Step 12345 -ErrorAction Stop
    }
    catch {
        "As expected: $($_.FullyQualifiedErrorId)"
    }
}
finally {
    if ($temporary) { Remove-Item -LiteralPath $Directory -Recurse -Force -ErrorAction Ignore }
}
