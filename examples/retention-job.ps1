#requires -Version 7.4
<#
.SYNOPSIS
    Scheduled retention cleanup of many training-run folders: a dry run first, then the real run, with a
    JSON-lines log of every step removed.

.DESCRIPTION
    Each checkpoint directory under -RunsRoot is pruned with Remove-Checkpoint's own rules: the -Keep highest
    steps of each run, every multiple of -KeepEvery, and everything newer than -OlderThan; pinned steps and each
    run's newest step always survive. Folders that are not checkpoint directories are skipped untouched. The job
    first lists what would go (-WhatIf, with sizes), then removes it and appends one JSON object per removed step
    to -LogPath. One failing run folder does not stop the others: its error is reported, the job goes on, and the
    exit code is 1 when any folder failed.

    Schedule it (adjust paths):

      cron (daily at 03:15):
        15 3 * * * cd /opt/trainer && dotnet pwsh -NoProfile -NonInteractive -File examples/retention-job.ps1 -RunsRoot /data/runs -LogPath /var/log/ckpt-retention.jsonl

      systemd timer (/etc/systemd/system/ckpt-retention.service and .timer):
        [Service]
        Type=oneshot
        WorkingDirectory=/opt/trainer
        ExecStart=/usr/bin/dotnet pwsh -NoProfile -NonInteractive -File examples/retention-job.ps1 -RunsRoot /data/runs -LogPath /var/log/ckpt-retention.jsonl
        [Timer]
        OnCalendar=*-*-* 03:15:00
        Persistent=true
        [Install]
        WantedBy=timers.target

      Windows Task Scheduler:
        schtasks /Create /TN "Checkpoint retention" /SC DAILY /ST 03:15 /TR "pwsh -NoProfile -NonInteractive -File C:\trainer\examples\retention-job.ps1 -RunsRoot D:\runs -LogPath D:\logs\ckpt-retention.jsonl"

.PARAMETER ModuleRoot
    Folder of the built module (default: out/DataraxCkpt of this repository).

.PARAMETER RunsRoot
    Folder whose subfolders are checkpoint directories. Omitted: a demonstration folder with three runs is made.

.PARAMETER Keep
    Remove-Checkpoint -Keep: keep this many highest steps of each run (1 or more).

.PARAMETER KeepEvery
    Remove-Checkpoint -KeepEvery: keep every step whose number is a multiple of this.

.PARAMETER OlderThan
    Remove-Checkpoint -OlderThan: remove only steps committed longer ago than this, with a unit ((New-TimeSpan -Days 7)
    or '7.00:00:00'; a plain number is refused); omitted, age keeps nothing.

.PARAMETER LockTimeout
    Remove-Checkpoint -LockTimeout: how long to wait for a trainer's lock on a run before that run fails; a number is
    seconds (default 30).

.EXAMPLE
    ./examples/retention-job.ps1 -RunsRoot /data/runs -Keep 5 -KeepEvery 10000 -OlderThan (New-TimeSpan -Days 7) -LogPath ./retention.jsonl
#>
param(
    [string] $ModuleRoot = (Join-Path $PSScriptRoot '../out/DataraxCkpt'),
    [string] $RunsRoot,
    [int] $Keep = 3,
    [long] $KeepEvery = 100,
    # Untyped on purpose: a [timespan] parameter would turn -OlderThan 7 or -LockTimeout 120 into ticks before
    # Remove-Checkpoint could refuse the first or read the second as seconds.
    $OlderThan,
    $LockTimeout = 30,
    [string] $LogPath = './retention.jsonl'
)

$ErrorActionPreference = 'Stop'
Import-Module (Join-Path $ModuleRoot 'DataraxCkpt.psd1') -Force

$demo = -not $RunsRoot
if ($demo) {
    $RunsRoot = Join-Path ([IO.Path]::GetTempPath()) ('dataraxckpt-runs-' + [guid]::NewGuid().ToString('N'))
    foreach ($run in 'run-a', 'run-b', 'run-c') {
        foreach ($step in 0, 50, 100, 150, 200, 250, 300) {
            @{ loss = 1.0 / ($step + 1); w = [float[]]::new(16) } | Save-Checkpoint (Join-Path $RunsRoot $run) -Step $step
        }
    }
    Lock-Checkpoint (Join-Path $RunsRoot 'run-b') -Step 50   # a pinned "best" step survives every rule
    $null = New-Item -ItemType Directory -Path (Join-Path $RunsRoot 'tensorboard')   # not a checkpoint directory: skipped
}

# The same parameter names as Remove-Checkpoint, splatted as they are.
$rules = @{ Keep = $Keep; KeepEvery = $KeepEvery; LockTimeout = $LockTimeout }
if ($null -ne $OlderThan) { $rules.OlderThan = $OlderThan }

try {
    # 1. Dry run: exactly what the real run will remove (each step with its size), nothing touched.
    #    A failing folder is reported and the others go on (-ErrorAction Continue), here and below.
    $dryFailures = $null
    $plans = Get-ChildItem -LiteralPath $RunsRoot -Directory |
        Remove-Checkpoint @rules -WhatIf -PassThru -ErrorVariable dryFailures -ErrorAction Continue
    "Dry run: $(($plans | Measure-Object -Property { $_.Removed.Count } -Sum).Sum) steps would be removed"
    foreach ($plan in $plans) { "  $(Split-Path -Leaf $plan.Directory): $($plan.Removed.Step -join ', ') ($($plan.BytesFreed) bytes)" }

    # 2. Real run, logging each removed step as one JSON line; one summary per run folder.
    $failures = $null
    $summaries = Get-ChildItem -LiteralPath $RunsRoot -Directory |
        Remove-Checkpoint @rules -PassThru -Confirm:$false -ErrorVariable failures -ErrorAction Continue
    foreach ($summary in $summaries) {
        foreach ($info in $summary.Removed) {
            [ordered]@{
                time       = [DateTimeOffset]::UtcNow.ToString('o')
                directory  = $info.Directory
                step       = $info.Step
                created    = $info.CreatedUtc.ToString('o')
                storedSize = $info.StoredSize
            } | ConvertTo-Json -Compress | Add-Content -LiteralPath $LogPath
        }
        "  $(Split-Path -Leaf $summary.Directory): removed $($summary.Removed.Count), kept $($summary.Kept -join ', '), freed $($summary.BytesFreed) bytes"
    }
    "Removed $(($summaries | Measure-Object -Property { $_.Removed.Count } -Sum).Sum) steps; log: $LogPath"
    if ($failures) {
        $failures | ForEach-Object { "FAILED: $($_.TargetObject): $($_.FullyQualifiedErrorId): $($_.Exception.Message)" }
        exit 1
    }
}
finally {
    if ($demo) { Remove-Item -LiteralPath $RunsRoot -Recurse -Force -ErrorAction Ignore }
}
