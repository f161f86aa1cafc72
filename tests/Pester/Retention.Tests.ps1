# Remove-Checkpoint: rules, -Step, pinned steps, -WhatIf touching nothing, and pipelines.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-Store([string] $Name, [long[]] $Steps) {
        $dir = Join-Path $TestDrive $Name
        foreach ($step in $Steps) { @{ step = $step } | Save-Checkpoint $dir -Step $step }
        $dir
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Remove-Checkpoint by rules' {
    It '-Keep N keeps the N highest steps and -PassThru summarises what was removed' {
        $dir = New-Store 'keep' 1, 2, 3, 4, 5
        $summary = Remove-Checkpoint $dir -Keep 2 -PassThru -WarningAction SilentlyContinue
        $summary.Removed.Step | Sort-Object | Should -Be @(1, 2, 3)
        $summary.Kept | Should -Be @(4, 5)
        Get-CheckpointStep $dir | Should -Be @(4, 5)
    }

    It '-KeepEvery K also keeps multiples of K (a step survives if any rule keeps it)' {
        $dir = New-Store 'every' 0, 5, 10, 15, 20, 25
        Remove-Checkpoint $dir -Keep 1 -KeepEvery 10 -WarningAction SilentlyContinue
        Get-CheckpointStep $dir | Should -Be @(0, 10, 20, 25)
    }

    It '-OlderThan keeps steps newer than the span' {
        $dir = New-Store 'older' 1, 2
        Remove-Checkpoint $dir -OlderThan ([timespan]::FromHours(1))
        Get-CheckpointStep $dir | Should -Be @(1, 2)
        Start-Sleep -Milliseconds 1200
        Remove-Checkpoint $dir -OlderThan ([timespan]::FromMilliseconds(500))
        Get-CheckpointStep $dir | Should -Be @(2) -Because 'the newest committed step survives every rule'
    }

    It 'without any rule refuses to guess' {
        $dir = New-Store 'norule' 1
        { Remove-Checkpoint $dir -ErrorAction Stop } | Should -Throw -ErrorId 'NoRetentionRule,DataraxCkpt.Commands.RemoveCheckpointCommand'
        Get-CheckpointStep $dir | Should -Be @(1)
    }
}

Describe 'Remove-Checkpoint -WhatIf' {
    It 'lists exactly what a real run removes and touches nothing' {
        $dir = New-Store 'whatif' 1, 2, 3, 4
        $before = Get-ChildItem -LiteralPath $dir -Recurse | ForEach-Object { "$($_.FullName)|$($_.Length)|$($_.LastWriteTimeUtc.Ticks)" }
        $planned = (Remove-Checkpoint $dir -Keep 1 -WhatIf -PassThru -WarningAction SilentlyContinue).Removed
        $after = Get-ChildItem -LiteralPath $dir -Recurse | ForEach-Object { "$($_.FullName)|$($_.Length)|$($_.LastWriteTimeUtc.Ticks)" }
        $after | Should -Be $before
        Get-CheckpointStep $dir | Should -Be @(1, 2, 3, 4)
        $removed = (Remove-Checkpoint $dir -Keep 1 -PassThru -WarningAction SilentlyContinue).Removed
        ($removed.Step | Sort-Object) | Should -Be ($planned.Step | Sort-Object)
    }

    It 'with -Step touches nothing and still reports a missing step' {
        $dir = New-Store 'whatif-step' 1, 2
        $errors = $null
        Remove-Checkpoint $dir -Step 1, 7 -WhatIf -ErrorVariable errors -ErrorAction SilentlyContinue
        Get-CheckpointStep $dir | Should -Be @(1, 2)
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'StepNotFound,DataraxCkpt.Commands.RemoveCheckpointCommand'
    }
}

Describe 'Remove-Checkpoint -Step' {
    It 'removes exactly the given steps' {
        $dir = New-Store 'bystep' 1, 2, 3
        Remove-Checkpoint $dir -Step 1, 3
        Get-CheckpointStep $dir | Should -Be @(2)
    }

    It 'never prompts in an unattended run (ConfirmPreference default)' {
        $dir = New-Store 'noprompt' 1, 2
        $result = Invoke-FreshPwsh -Script "Import-Module '$ModuleManifest'; Remove-Checkpoint -LiteralPath '$dir' -Step 1 -ErrorAction Stop; 'done'"
        $result.Output | Should -Contain 'done'
        Get-CheckpointStep $dir | Should -Be @(2)
    }
}

Describe 'Pipelines' {
    It 'Get-Checkpoint | Where-Object Step -lt 100 | Remove-Checkpoint removes those steps' {
        $dir = New-Store 'pipe-remove' 50, 99, 100, 150
        Get-Checkpoint $dir | Where-Object Step -lt 100 | Remove-Checkpoint
        Get-CheckpointStep $dir | Should -Be @(100, 150)
    }

    It 'Get-Checkpoint -Step 5 | Restore-Checkpoint restores that step' {
        $dir = New-Store 'pipe-restore' 5, 6
        (Get-Checkpoint $dir -Step 5 | Restore-Checkpoint).step | Should -Be 5
    }

    It 'Get-ChildItem -Directory | Remove-Checkpoint -Keep prunes each store' {
        $runs = Join-Path $TestDrive 'runs'
        foreach ($run in 'a', 'b') {
            foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint (Join-Path $runs $run) -Step $step }
        }
        Get-ChildItem -LiteralPath $runs -Directory | Remove-Checkpoint -Keep 2 -WarningAction SilentlyContinue
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(3, 4)
        Get-CheckpointStep (Join-Path $runs 'b') | Should -Be @(3, 4)
    }

    It 'one failing store in the pipeline does not stop the others (a piped folder that does not exist, one whose lock another writer holds)' {
        # A piped folder that does not exist (and lies in no directory this run pruned) is DirectoryNotFound, as on the
        # command line (docs/cmdlets.md, retention rule 4); a store whose lock another writer holds is LockTimeout.
        $runs = Join-Path $TestDrive 'runs-mixed'
        foreach ($run in 'a', 'b', 'c') {
            foreach ($step in 1..3) { @{ s = $step } | Save-Checkpoint (Join-Path $runs $run) -Step $step }
        }
        $inputs = @(
            Get-Item -LiteralPath (Join-Path $runs 'a')
            Get-Item -LiteralPath (Join-Path $runs 'b')
            [pscustomobject]@{ Directory = (Join-Path $runs 'missing') }
            Get-Item -LiteralPath (Join-Path $runs 'c')
        )
        $errors = $null
        $holder = [IO.FileStream]::new((Join-Path $runs 'b/.lock'), 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $summaries = $inputs | Remove-Checkpoint -Keep 1 -PassThru -LockTimeout 1 -ErrorVariable errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        }
        finally { $holder.Dispose() }
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(3)
        Get-CheckpointStep (Join-Path $runs 'b') | Should -Be @(1, 2, 3)
        Get-CheckpointStep (Join-Path $runs 'c') | Should -Be @(3)
        @($summaries.Directory) | Should -Be @('a', 'b', 'c' | ForEach-Object { Join-Path $runs $_ }) -Because 'the missing folder has no summary'
        @($summaries.Removed).Count | Should -Be 4
        @($errors | Where-Object FullyQualifiedErrorId -EQ 'DirectoryNotFound,DataraxCkpt.Commands.RemoveCheckpointCommand').TargetObject | Should -Be @(Join-Path $runs 'missing')
        @($errors | Where-Object TargetObject -NE (Join-Path $runs 'missing')).FullyQualifiedErrorId | Sort-Object -Unique | Should -Be @('LockTimeout,DataraxCkpt.Commands.RemoveCheckpointCommand')
        @($errors.TargetObject | Sort-Object -Unique) | Should -Be @((Join-Path $runs 'b'), (Join-Path $runs 'missing'))
    }

    It 'several pipeline inputs to Save-Checkpoint become consecutive steps' {
        $dir = Join-Path $TestDrive 'consecutive'
        @{ i = 0 }, @{ i = 1 }, @{ i = 2 } | Save-Checkpoint $dir -Step 10
        Get-CheckpointStep $dir | Should -Be @(10, 11, 12)
        (Restore-Checkpoint $dir -Step 12).i | Should -Be 2
    }

    It 'without -Step, each input takes latest + 1 and -PassThru reports the step used' {
        $dir = Join-Path $TestDrive 'auto'
        $saved = @{ i = 0 }, @{ i = 1 } | Save-Checkpoint $dir -PassThru
        $saved.Step | Should -Be @(0, 1)
    }
}
