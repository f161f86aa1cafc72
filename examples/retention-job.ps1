#requires -Version 7.4
<#
.SYNOPSIS
    Scheduled retention cleanup of many training-run folders: a dry run first, then the real run, with a
    JSON-lines log of every step removed.

.DESCRIPTION
    Each folder under -RunsRoot is a checkpoint directory. The job keeps the -Keep highest steps of each run,
    every multiple of -KeepEvery, and everything newer than -KeepNewerThan; pinned steps always survive. It first
    lists what would go (-WhatIf), then removes it and appends one JSON object per removed step to -LogPath.
    One failing run folder does not stop the others; the exit code is 1 when any failed.

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

.EXAMPLE
    ./examples/retention-job.ps1 -RunsRoot /data/runs -Keep 5 -KeepEvery 10000 -LogPath ./retention.jsonl
#>
param(
    [string] $ModuleRoot = (Join-Path $PSScriptRoot '../out/DataraxCkpt'),
    [string] $RunsRoot,
    [int] $Keep = 3,
    [long] $KeepEvery = 100,
    [timespan] $KeepNewerThan = [timespan]::Zero,
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
}

$rules = @{ Keep = $Keep; KeepEvery = $KeepEvery }
if ($KeepNewerThan -gt [timespan]::Zero) { $rules.OlderThan = $KeepNewerThan }

try {
    # 1. Dry run: exactly what the real run will remove, nothing touched.
    $planned = Get-ChildItem -LiteralPath $RunsRoot -Directory | Remove-Checkpoint @rules -WhatIf -PassThru
    "Dry run: $(@($planned).Count) steps would be removed"
    $planned | Group-Object Directory | ForEach-Object { "  $($_.Name): $($_.Group.Step -join ', ')" }

    # 2. Real run, logging each removed step as one JSON line.
    $failures = $null
    $removed = Get-ChildItem -LiteralPath $RunsRoot -Directory |
        Remove-Checkpoint @rules -PassThru -ErrorVariable failures -ErrorAction Continue
    foreach ($info in $removed) {
        [ordered]@{
            time       = [DateTimeOffset]::UtcNow.ToString('o')
            directory  = $info.Directory
            step       = $info.Step
            created    = $info.CreatedUtc.ToString('o')
            storedSize = $info.StoredSize
        } | ConvertTo-Json -Compress | Add-Content -LiteralPath $LogPath
    }
    "Removed $(@($removed).Count) steps; log: $LogPath"
    Get-ChildItem -LiteralPath $RunsRoot -Directory | ForEach-Object { "  $($_.Name) keeps: $((Get-CheckpointStep -LiteralPath $_.FullName) -join ', ')" }
    if ($failures) {
        $failures | ForEach-Object { "FAILED: $($_.FullyQualifiedErrorId): $($_.Exception.Message)" }
        exit 1
    }
}
finally {
    if ($demo) { Remove-Item -LiteralPath $RunsRoot -Recurse -Force -ErrorAction Ignore }
}
