# Repair-CheckpointIndex on a disk that fails to read index.sqlite: the refusal (IOError / ReadError) names -Force and
# what it risks; -Force -WhatIf changes nothing; -Force, unattended (no prompt), sets the index aside unread, keeps it,
# and rebuilds from the step folders, after which every step restores. The EIO is real: strace fails every pread64 of
# the index file in a fresh pwsh (the engine's reads, SQLite's and its own header read, are the only ones of that file).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    $script:Strace = (Get-Command strace -CommandType Application -ErrorAction Ignore | Select-Object -First 1).Source
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Repair-CheckpointIndex -Force on an index the disk cannot read' {
    BeforeAll {
        $script:dir = Join-Path $TestDrive 'ck'
        foreach ($step in 1, 2, 3) { @{ s = $step; w = [float[]](1..64 | ForEach-Object { $_ * $step }) } | Save-Checkpoint $dir -Step $step }
        Lock-Checkpoint $dir 2
        $script:index = Join-Path $dir 'index.sqlite'
        $script:indexHash = (Get-FileHash -LiteralPath $index -Algorithm SHA256).Hash
    }

    It 'refuses as IOError naming -Force, changes nothing under -Force -WhatIf, and with -Force rebuilds without a prompt so that every step restores' -Skip:(-not $IsLinux) {
        if (-not $Strace) { Set-ItResult -Skipped -Because 'strace is not installed (apt-get install strace)'; return }
        $script = @"
`$ErrorActionPreference = 'Continue'
Import-Module '$ModuleManifest'
Repair-CheckpointIndex -LiteralPath '$dir' -ErrorVariable refused -ErrorAction SilentlyContinue | Out-Null
"ID=`$(`$refused[0].FullyQualifiedErrorId)"
"CATEGORY=`$(`$refused[0].CategoryInfo.Category)"
"MESSAGE=`$(`$refused[0].Exception.Message)"
`$dry = Repair-CheckpointIndex -LiteralPath '$dir' -Force -WhatIf
"DRY=`$(`$dry.DryRun) `$(@(`$dry.StepsIndexed) -join ',')"
"DRYPROBLEM=`$(`$dry.Problems[0])"
"AFTERDRY=`$(@(Get-ChildItem -LiteralPath '$dir' -Filter 'index.sqlite.unreadable-*').Count)"
`$report = Repair-CheckpointIndex -LiteralPath '$dir' -Force -ErrorAction Stop
"FORCED=`$(`$report.DryRun) `$(@(`$report.StepsIndexed) -join ',')"
"PROBLEM=`$(`$report.Problems[0])"
"@
        $scriptFile = Join-Path $TestDrive 'forced.ps1'
        Set-Content -LiteralPath $scriptFile -Value $script
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        $output = & $Strace -f -qq -o /dev/null -e trace=pread64 -e 'inject=pread64:error=EIO:when=1+' -P $index -- `
            ([Environment]::ProcessPath) @pwshArgs -NoProfile -NonInteractive -File $scriptFile 2>&1 | ForEach-Object { "$_" }
        $LASTEXITCODE | Should -Be 0 -Because ($output -join "`n")
        $lines = @{}
        foreach ($line in $output) { if ($line -match '^([A-Z]+)=(.*)$') { $lines[$Matches[1]] = $Matches[2] } }

        $lines.ID | Should -BeExactly 'IOError,DataraxCkpt.Commands.RepairCheckpointIndexCommand'
        $lines.CATEGORY | Should -BeExactly 'ReadError'
        $lines.MESSAGE | Should -Match ([regex]::Escape($index))
        $lines.MESSAGE | Should -Match 'check the disk'
        $lines.MESSAGE | Should -Match 'Repair-CheckpointIndex -Force'
        $lines.MESSAGE | Should -Match 'It risks'
        $lines.DRY | Should -BeExactly 'True 1,2,3'
        $lines.DRYPROBLEM | Should -Match 'a forced repair would set it aside unread'
        $lines.AFTERDRY | Should -Be '0'
        $lines.FORCED | Should -BeExactly 'False 1,2,3'
        $lines.PROBLEM | Should -Match "set aside unread as 'index\.sqlite\.unreadable-"

        # Nothing lost: the old index kept byte for byte, every step listed and restoring, the pin kept.
        $aside = @(Get-ChildItem -LiteralPath $dir -Filter 'index.sqlite.unreadable-*' | Where-Object Name -NotMatch '-(wal|shm)$')
        $aside.Count | Should -Be 1
        (Get-FileHash -LiteralPath $aside[0].FullName -Algorithm SHA256).Hash | Should -Be $indexHash
        Get-CheckpointStep $dir | Should -Be @(1, 2, 3)
        foreach ($step in 1, 2, 3) {
            $restored = Restore-Checkpoint $dir -Step $step
            $restored.s | Should -Be $step
            $restored.w[63] | Should -Be (64 * $step)
        }
        (Get-Checkpoint $dir -Step 2).Pinned | Should -BeTrue
        Test-Checkpoint $dir -Quiet | Should -BeTrue
    }

    It 'reports a failed write of the index as IOError with the category WriteError' -Skip:(-not $IsLinux) {
        if (-not $Strace) { Set-ItResult -Skipped -Because 'strace is not installed (apt-get install strace)'; return }
        $pinned = Join-Path $TestDrive 'pinned'
        foreach ($step in 1, 2) { @{ s = $step } | Save-Checkpoint $pinned -Step $step }
        $script = @"
`$ErrorActionPreference = 'Continue'
Import-Module '$ModuleManifest'
Lock-Checkpoint -LiteralPath '$pinned' -Step 1 -ErrorVariable failed -ErrorAction SilentlyContinue | Out-Null
"ID=`$(`$failed[0].FullyQualifiedErrorId)"
"CATEGORY=`$(`$failed[0].CategoryInfo.Category)"
"ERRNO=`$(`$failed[0].Exception.Data['DataraxCkpt.SystemErrno'])"
"@
        $scriptFile = Join-Path $TestDrive 'write.ps1'
        Set-Content -LiteralPath $scriptFile -Value $script
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })
        # Every write of the index's log fails with EIO: the pin's commit cannot be written.
        $output = & $Strace -f -qq -o /dev/null -e trace=pwrite64 -e 'inject=pwrite64:error=EIO:when=1+' -P (Join-Path $pinned 'index.sqlite-wal') -- `
            ([Environment]::ProcessPath) @pwshArgs -NoProfile -NonInteractive -File $scriptFile 2>&1 | ForEach-Object { "$_" }
        $lines = @{}
        foreach ($line in $output) { if ($line -match '^([A-Z]+)=(.*)$') { $lines[$Matches[1]] = $Matches[2] } }

        $lines.ID | Should -BeExactly 'IOError,DataraxCkpt.Commands.LockCheckpointCommand' -Because ($output -join "`n")
        $lines.CATEGORY | Should -BeExactly 'WriteError'
        $lines.ERRNO | Should -BeExactly '5'
    }
}
