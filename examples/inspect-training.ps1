#requires -Version 7.4
<#
.SYNOPSIS
    Inspects the numbers of a training run: statistics per step, a NaN hunt, what moved most, and a terminal
    sparkline of one tensor's L2 norm over the steps.

.DESCRIPTION
    Without -Directory, a small demonstration run is made (and removed): a dense layer whose weights drift and then
    explode, until step 90 holds NaN. Then the run is inspected the way one would inspect a real one:
    - the first step holding NaN or infinity, and which tensors hold it (Get-CheckpointItem -Statistics);
    - which steps are finite (Test-Checkpoint -Finite), and what a -KeepFinite retention run would keep;
    - which tensors moved most between the first and the last finite step (Compare-Checkpoint -Numeric);
    - a sparkline of one item's L2 norm over the steps (non-finite steps drawn as ×).
    Exit code 0 when the run was inspected (finding NaN is an answer, not a failure).

.PARAMETER ModuleRoot
    Folder of the built module (default: out/DataraxCkpt of this repository).

.PARAMETER Directory
    The checkpoint directory of a run to inspect. Omitted: a demonstration run is made (and removed).

.PARAMETER Item
    The tensor whose L2 norm is drawn (default: params/dense/kernel).

.EXAMPLE
    ./examples/inspect-training.ps1 -Directory /data/runs/run-a -Item 'params/encoder/kernel'
#>
param(
    [string] $ModuleRoot = (Join-Path $PSScriptRoot '../out/DataraxCkpt'),
    [string] $Directory,
    [string] $Item = 'params/dense/kernel'
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleRoot 'DataraxCkpt.psd1') -Force

function ConvertTo-Sparkline([double[]] $Values) {
    # One block per value, scaled from the smallest (▁) to the largest (█); NaN (a non-finite step) is ×.
    $blocks = [char[]]'▁▂▃▄▅▆▇█'
    $finite = @($Values | Where-Object { [double]::IsFinite($_) })
    if ($finite.Count -eq 0) { return ('×' * $Values.Count) }
    $low = ($finite | Measure-Object -Minimum).Minimum
    $high = ($finite | Measure-Object -Maximum).Maximum
    $span = $high - $low
    -join ($Values | ForEach-Object {
            if (-not [double]::IsFinite($_)) { '×' }
            elseif ($span -eq 0) { $blocks[0] }
            else { $blocks[[int][math]::Round(($_ - $low) / $span * ($blocks.Count - 1))] }
        })
}

$demo = -not $Directory
if ($demo) {
    $Directory = Join-Path ([IO.Path]::GetTempPath()) ('dataraxckpt-training-' + [guid]::NewGuid().ToString('N'))
    # A dense layer 16x8 that drifts slowly, then explodes, then goes NaN at step 90 (and entirely NaN at 100).
    $random = [System.Random]::new(42)
    $base = [float[,]]::new(16, 8)
    for ($i = 0; $i -lt 16; $i++) { for ($j = 0; $j -lt 8; $j++) { $base[$i, $j] = [float]($random.NextDouble() * 2 - 1) } }
    $scales = @{ 10 = 1.0; 20 = 1.1; 30 = 1.2; 40 = 1.35; 50 = 1.5; 60 = 1.8; 70 = 2.4; 80 = 4.0; 90 = 6.0; 100 = 9.0 }
    foreach ($step in 10, 20, 30, 40, 50, 60, 70, 80, 90, 100) {
        $kernel = [float[,]]::new(16, 8)
        for ($i = 0; $i -lt 16; $i++) { for ($j = 0; $j -lt 8; $j++) { $kernel[$i, $j] = [float]($base[$i, $j] * $scales[$step]) } }
        $bias = [float[]]::new(8)
        for ($j = 0; $j -lt 8; $j++) { $bias[$j] = [float](0.01 * $step / 10) }
        if ($step -eq 90) { $kernel[3, 5] = [float]::NaN; $bias[0] = [float]::PositiveInfinity }
        if ($step -eq 100) { for ($i = 0; $i -lt 16; $i++) { for ($j = 0; $j -lt 8; $j++) { $kernel[$i, $j] = [float]::NaN } } }
        [ordered]@{
            params = [ordered]@{ dense = [ordered]@{ kernel = $kernel; bias = $bias } }
            step   = [int[]]@($step)
            loss   = 1.0 / $step
        } | Save-Checkpoint $Directory -Step $step
    }
}

try {
    $steps = @(Get-CheckpointStep -LiteralPath $Directory)
    if ($steps.Count -eq 0) { "No checkpoints in $Directory"; return }

    # One pass over the run: statistics of every tensor of every step (streamed, chunk by chunk).
    $statistics = @(Get-Checkpoint -LiteralPath $Directory | Get-CheckpointItem -Statistics)

    '== Statistics of the latest finite step'
    $finiteSteps = @($statistics | Group-Object Step | Where-Object { -not ($_.Group | Where-Object { -not $_.IsFinite }) } |
            ForEach-Object { [long]$_.Name } | Sort-Object)
    if ($finiteSteps.Count -gt 0) {
        $statistics | Where-Object Step -EQ $finiteSteps[-1] | Format-Table | Out-String -Width 160
    }

    '== NaN hunt'
    $bad = @($statistics | Where-Object { -not $_.IsFinite })
    if ($bad.Count -eq 0) {
        'Every step is finite.'
    }
    else {
        $first = ($bad | Measure-Object Step -Minimum).Minimum
        "First non-finite step: $first"
        foreach ($s in $bad | Where-Object Step -EQ $first) {
            "  {0}: {1} NaN, {2} +Inf, {3} -Inf of {4}" -f $s.Item, $s.NaNCount, $s.PositiveInfinityCount, $s.NegativeInfinityCount, $s.Count
        }
        "Non-finite steps: $(($bad.Step | Sort-Object -Unique) -join ', ')"
    }
    "Finite steps: $($finiteSteps -join ', ')"
    # The same answer from Test-Checkpoint, as an unattended job would ask it (checksums too).
    "Test-Checkpoint -Finite -Quiet: $(Test-Checkpoint -LiteralPath $Directory -Finite -Quiet)"
    $plan = Remove-Checkpoint -LiteralPath $Directory -Keep 3 -KeepFinite -WhatIf -PassThru
    "Remove-Checkpoint -Keep 3 -KeepFinite would keep: $($plan.Kept -join ', ')"

    if ($finiteSteps.Count -ge 2) {
        "== What moved most from step $($finiteSteps[0]) to step $($finiteSteps[-1])"
        Compare-Checkpoint -LiteralPath $Directory -ReferenceStep $finiteSteps[0] -DifferenceStep $finiteSteps[-1] -Numeric |
            Sort-Object RelativeChange -Descending | Select-Object -First 10 | Format-Table | Out-String -Width 160
    }

    "== L2 norm of $Item over steps $($steps[0])..$($steps[-1])"
    $series = @($statistics | Where-Object Item -CEQ $Item | Sort-Object Step)
    if ($series.Count -eq 0) { "No tensor named $Item." }
    else {
        $norms = [double[]]@($series | ForEach-Object { if ($_.IsFinite -and $null -ne $_.L2Norm) { $_.L2Norm } else { [double]::NaN } })
        "$Item L2 norm: $(ConvertTo-Sparkline $norms)"
        $finiteNorms = @($norms | Where-Object { [double]::IsFinite($_) })
        if ($finiteNorms.Count -gt 0) {
            'range {0:G4} .. {1:G4} (× = NaN or Inf)' -f ($finiteNorms | Measure-Object -Minimum).Minimum, ($finiteNorms | Measure-Object -Maximum).Maximum
        }
    }
}
finally {
    if ($demo) { Remove-Item -LiteralPath $Directory -Recurse -Force -ErrorAction Ignore }
}
