# Issue 11: the module behaves as PowerShell users expect. Each behaviour runs the built module in a fresh,
# non-interactive pwsh (as a scheduled job or a new terminal would) and checks what a user would check.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-Store([string] $Name, [long[]] $Steps) {
        $dir = Join-Path $TestDrive $Name
        foreach ($step in $Steps) { @{ step = $step } | Save-Checkpoint $dir -Step $step }
        $dir
    }

    # Runs $Body in a fresh pwsh with the module imported and $root set to a fresh folder; returns the output lines.
    function Invoke-Fresh([string] $Body) {
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $root
        (Invoke-FreshPwsh -WorkingDirectory $root -Script "Import-Module '$ModuleManifest'; `$root = '$root'`n$Body").Output
    }

    function Get-Tree([string] $Path) {
        @(Get-ChildItem -LiteralPath $Path -Recurse -Force | ForEach-Object { $_.FullName.Substring($Path.Length) } | Sort-Object)
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Retention touches nothing but checkpoint directories (item 2)' {
    It 'piped folders that are not checkpoint directories are skipped, untouched, and -Verbose says so' {
        $runs = Join-Path $TestDrive 'runs-mixed-kinds'
        foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint (Join-Path $runs 'run1') -Step $step }
        $tb = New-Item -ItemType Directory -Path (Join-Path $runs 'tensorboard')
        Set-Content -LiteralPath (Join-Path $tb.FullName 'events.out') -Value 'x'
        $null = New-Item -ItemType Directory -Path (Join-Path $runs 'empty')

        $verbose = Get-ChildItem -LiteralPath $runs -Directory | Remove-Checkpoint -Keep 2 -WhatIf -Verbose 4>&1 | ForEach-Object { "$_" }
        Get-Tree $tb.FullName | Should -Be @('/events.out')
        Get-Tree (Join-Path $runs 'empty') | Should -BeNullOrEmpty
        ($verbose -match 'tensorboard.*not a checkpoint directory') | Should -Not -BeNullOrEmpty

        Get-ChildItem -LiteralPath $runs -Directory | Remove-Checkpoint -Keep 2 -WarningAction SilentlyContinue
        Get-Tree $tb.FullName | Should -Be @('/events.out')
        Get-Tree (Join-Path $runs 'empty') | Should -BeNullOrEmpty
        Get-CheckpointStep (Join-Path $runs 'run1') | Should -Be @(3, 4)
    }

    It 'piped files among the runs (Get-ChildItem without -Directory) are skipped untouched with a -Verbose line, and a job under ErrorAction Stop prunes the runs without halting' {
        $runs = Join-Path $TestDrive 'runs-with-files'
        foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint (Join-Path $runs 'run1') -Step $step }
        foreach ($step in 1..3) { @{ s = $step } | Save-Checkpoint (Join-Path $runs 'zrun2') -Step $step }
        Set-Content -LiteralPath (Join-Path $runs 'README.md') -Value 'notes'
        Set-Content -LiteralPath (Join-Path $runs 'a-first.txt') -Value 'sorted before the runs'

        $verbose = Get-ChildItem -LiteralPath $runs | Remove-Checkpoint -Keep 2 -ErrorAction Stop -Verbose -WarningAction SilentlyContinue 4>&1 | ForEach-Object { "$_" }
        ($verbose -match 'README\.md.*a file, not a checkpoint directory') | Should -Not -BeNullOrEmpty
        Get-CheckpointStep (Join-Path $runs 'run1') | Should -Be @(3, 4)
        Get-CheckpointStep (Join-Path $runs 'zrun2') | Should -Be @(2, 3)
        Get-Content -LiteralPath (Join-Path $runs 'README.md') | Should -Be 'notes'
        Get-Content -LiteralPath (Join-Path $runs 'a-first.txt') | Should -Be 'sorted before the runs'
    }

    It 'a piped symbolic link to a folder not there now is skipped with a -Verbose line, and a job under ErrorAction Stop still prunes the runs after it' -Skip:$IsWindows {
        $runs = Join-Path $TestDrive 'runs-with-dangling-link'
        $null = New-Item -ItemType Directory -Path $runs
        $null = New-Item -ItemType SymbolicLink -Path (Join-Path $runs 'a-scratch') -Target (Join-Path $TestDrive 'scratch-not-created')
        foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint (Join-Path $runs 'run1') -Step $step }

        # Sorted by name, the dangling link comes before the run it would have stopped the job short of.
        $verbose = Get-ChildItem -LiteralPath $runs | Sort-Object Name | Remove-Checkpoint -Keep 2 -ErrorAction Stop -Verbose -WarningAction SilentlyContinue 4>&1 | ForEach-Object { "$_" }
        ($verbose -match 'a-scratch.*symbolic link.*does not exist') | Should -Not -BeNullOrEmpty
        Get-CheckpointStep (Join-Path $runs 'run1') | Should -Be @(3, 4)
        (Get-Item -LiteralPath (Join-Path $runs 'a-scratch') -Force).LinkTarget | Should -Be (Join-Path $TestDrive 'scratch-not-created')
        Join-Path $TestDrive 'scratch-not-created' | Should -Not -Exist
    }

    It 'a step folder pruned earlier in the same run that arrives later as piped input is skipped with a -Verbose line, and a job under ErrorAction Stop prunes every run; -WhatIf still plans every run and removes nothing' {
        # Get-ChildItem -Recurse -Directory lists each run's step folders; sorted (or gathered first), they arrive after their
        # run was pruned, gone: DirectoryNotFound stopped the job before the runs after them.
        $runs = Join-Path $TestDrive 'runs-recursed'
        foreach ($run in 'a', 'b') { foreach ($step in 1..3) { @{ s = $step } | Save-Checkpoint (Join-Path $runs $run) -Step $step } }

        $plan = Get-ChildItem -LiteralPath $runs -Recurse -Directory | Sort-Object FullName | Remove-Checkpoint -Keep 1 -WhatIf -PassThru -ErrorAction Stop -WarningAction SilentlyContinue
        @($plan | Where-Object { $_.PSObject.TypeNames -contains 'DataraxCkpt.RetentionSummary' }).Count | Should -Be 2
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(1, 2, 3)
        Get-CheckpointStep (Join-Path $runs 'b') | Should -Be @(1, 2, 3)

        $verbose = Get-ChildItem -LiteralPath $runs -Recurse -Directory | Sort-Object FullName |
            Remove-Checkpoint -Keep 1 -ErrorAction Stop -Verbose -WarningAction SilentlyContinue 4>&1 | ForEach-Object { "$_" }
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(3)
        Get-CheckpointStep (Join-Path $runs 'b') | Should -Be @(3)
        $skipped = [regex]::Escape((Join-Path $runs 'a' '1'))
        ($verbose -match "Skipped '$skipped'.*no such folder") | Should -Not -BeNullOrEmpty

        # As the pipeline streams it, unsorted: the same outcome.
        foreach ($step in 4..5) { @{ s = $step } | Save-Checkpoint (Join-Path $runs 'a') -Step $step }
        Get-ChildItem -LiteralPath $runs -Recurse -Directory | Remove-Checkpoint -Keep 1 -ErrorAction Stop -WarningAction SilentlyContinue
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(5)
    }

    It 'a piped folder that is missing for any other reason (a typo in a record, a disk that is gone) is DirectoryNotFound, not skipped; the runs around it are pruned' {
        # Only a folder inside a directory this run removed steps from may vanish under the job; any other missing folder is
        # the user's mistake or a lost mount, and a retention job must not do nothing about it without a word, forever.
        $runs = Join-Path $TestDrive 'runs-typo'
        foreach ($run in 'a', 'c') { foreach ($step in 1..3) { @{ s = $step } | Save-Checkpoint (Join-Path $runs $run) -Step $step } }
        $typo = Join-Path $runs 'b-typo'
        $gone = Join-Path $TestDrive 'unmounted-disk/runs/x'
        $inputs = @(
            [pscustomobject]@{ Directory = (Join-Path $runs 'a') }
            [pscustomobject]@{ Directory = $typo }
            [pscustomobject]@{ PSPath = $gone }
            [pscustomobject]@{ Directory = (Join-Path $runs 'c') }
        )
        $errors = $null
        $summaries = $inputs | Remove-Checkpoint -Keep 1 -PassThru -ErrorVariable errors -ErrorAction SilentlyContinue -WarningAction SilentlyContinue
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(3)
        Get-CheckpointStep (Join-Path $runs 'c') | Should -Be @(3)
        @($summaries).Count | Should -Be 2
        @($errors.FullyQualifiedErrorId | Sort-Object -Unique) | Should -Be @('DirectoryNotFound,DataraxCkpt.Commands.RemoveCheckpointCommand')
        @($errors.TargetObject) | Should -Be @($typo, $gone)

        $caught = $null
        try { [pscustomobject]@{ Directory = $typo } | Remove-Checkpoint -Keep 1 -ErrorAction Stop } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $typo | Should -Not -Exist
    }

    It 'a missing folder named on the command line (not piped) is still DirectoryNotFound, with rules or -Step' {
        $missing = Join-Path $TestDrive 'never-saved'
        foreach ($remove in { Remove-Checkpoint -LiteralPath $missing -Keep 1 -ErrorAction Stop }, { Remove-Checkpoint -Path $missing -Keep 1 -ErrorAction Stop },
            { Remove-Checkpoint -LiteralPath $missing -Step 1 -Confirm:$false -ErrorAction Stop }) {
            $caught = $null
            try { & $remove } catch { $caught = $_ }
            $caught.FullyQualifiedErrorId | Should -BeExactly 'DirectoryNotFound,DataraxCkpt.Commands.RemoveCheckpointCommand' -Because "$remove"
        }
        $missing | Should -Not -Exist
    }

    It 'naming such a folder with -Path is a NotACheckpointDirectory error' {
        $out = Invoke-Fresh @'
$null = New-Item -ItemType Directory -Path (Join-Path $root 'logs')
Remove-Checkpoint (Join-Path $root 'logs') -Keep 2 -ErrorVariable e -ErrorAction SilentlyContinue
"id=$($e[0].FullyQualifiedErrorId)"
"files=$(@(Get-ChildItem -Force (Join-Path $root 'logs')).Count)"
'@
        $out | Should -Contain 'id=NotACheckpointDirectory,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $out | Should -Contain 'files=0'
    }

    It 'a dry run over a store whose index was lost creates no lock and no index' {
        $dir = New-Store 'lost-index' 1, 2, 3
        Get-ChildItem -LiteralPath $dir -Force -File | Where-Object Name -match '^(index\.sqlite|\.lock)' | Remove-Item -Force
        $before = Get-Tree $dir
        $plan = Remove-Checkpoint $dir -Keep 1 -WhatIf -PassThru -WarningAction SilentlyContinue
        $plan.Removed.Step | Should -Be @(1, 2)
        Get-Tree $dir | Should -Be $before
    }
}

Describe 'Removal by number touches nothing but checkpoint directories either (item 2)' {
    It 'Remove-Checkpoint -Step on a folder that is not a checkpoint directory is NotACheckpointDirectory and leaves it untouched<WhatIf>' -ForEach @(
        @{ WhatIf = ' (-WhatIf)'; Switch = '-WhatIf' }
        @{ WhatIf = ''; Switch = '-Confirm:$false' }
    ) {
        $out = Invoke-Fresh @"
`$tb = New-Item -ItemType Directory -Path (Join-Path `$root 'tensorboard')
Set-Content -LiteralPath (Join-Path `$tb.FullName 'events.out') -Value 'x'
Get-ChildItem -LiteralPath `$root -Directory | Remove-Checkpoint -Step 5 $Switch -ErrorVariable e -ErrorAction SilentlyContinue
"id=`$(`$e[0].FullyQualifiedErrorId)"
"files=`$((Get-ChildItem -Force -LiteralPath `$tb.FullName).Name -join ',')"
"@
        $out | Should -Contain 'id=NotACheckpointDirectory,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $out | Should -Contain 'files=events.out'
    }

    It 'Remove-Checkpoint -Step -WhatIf over a store whose index was lost creates no lock and no index' {
        $dir = New-Store 'lost-index-step' 1, 2, 3
        Get-ChildItem -LiteralPath $dir -Force -File | Where-Object Name -match '^(index\.sqlite|\.lock)' | Remove-Item -Force
        $before = Get-Tree $dir
        $out = Invoke-Fresh "Remove-Checkpoint -LiteralPath '$dir' -Step 1 -WhatIf -PassThru | ForEach-Object { 'planned=' + `$_.Step }"
        $out | Should -Contain 'planned=1'
        Get-Tree $dir | Should -Be $before
    }
}

Describe 'Piped records with a rule prune their directory once (item 7)' {
    It 'a directory''s records piped to Remove-Checkpoint -Keep 2 <Mode> give one summary with each step once' -ForEach @(
        @{ Mode = '-WhatIf'; Switch = '-WhatIf' }
        @{ Mode = '-Confirm:$false'; Switch = '-Confirm:$false' }
    ) {
        $dir = New-Store ('piped-records-' + [guid]::NewGuid().ToString('N')) 1, 2, 3, 4
        $out = Invoke-Fresh @"
`$s = Get-Checkpoint '$dir' | Remove-Checkpoint -Keep 2 -PassThru $Switch -WarningAction SilentlyContinue
"summaries=`$(@(`$s).Count)"
"removed=`$((`$s | ForEach-Object { `$_.Removed.Step }) -join ',')"
"@
        $out | Should -Contain 'summaries=1'
        $out | Should -Contain 'removed=1,2'
    }
}

Describe 'A missing directory is an error for every cmdlet that reads (item 3)' {
    It '<Command> ./typo is DirectoryNotFound / ObjectNotFound' -ForEach @(
        @{ Command = 'Get-Checkpoint'; Line = 'Get-Checkpoint ./typo' }
        @{ Command = 'Test-Checkpoint'; Line = 'Test-Checkpoint ./typo' }
        @{ Command = 'Get-CheckpointItem'; Line = 'Get-CheckpointItem ./typo' }
        @{ Command = 'Restore-Checkpoint'; Line = 'Restore-Checkpoint ./typo' }
        @{ Command = 'Compare-Checkpoint'; Line = 'Compare-Checkpoint ./typo 1' }
        @{ Command = 'Remove-Checkpoint'; Line = 'Remove-Checkpoint ./typo -Keep 3' }
    ) {
        $out = Invoke-Fresh "$Line -ErrorVariable e -ErrorAction SilentlyContinue; `"n=`$(`$e.Count)`"; `"id=`$(`$e[0].FullyQualifiedErrorId)`"; `"cat=`$(`$e[0].CategoryInfo.Category)`""
        $out | Should -Contain 'n=1'
        $out | Should -Contain "id=DirectoryNotFound,DataraxCkpt.Commands.$($Command -replace '-', '')Command"
        $out | Should -Contain 'cat=ObjectNotFound'
    }

    It 'Test-Checkpoint ./typo | Where-Object { -not $_.Ok } cannot read a typo as healthy' {
        $out = Invoke-Fresh @'
$bad = @(Test-Checkpoint ./typo -ErrorAction SilentlyContinue -ErrorVariable e | Where-Object { -not $_.Ok })
"errors=$($e.Count)"
"quiet=$(Test-Checkpoint ./typo -Quiet)"
'@
        $out | Should -Contain 'errors=1'
        $out | Should -Contain 'quiet=False'
    }
}

Describe 'Pipeline input to Save-Checkpoint (item 4)' {
    It 'a piped array is refused with a message suggesting -InputObject or ,$a, and saves nothing' {
        $out = Invoke-Fresh @'
[float[]](1, 2, 3) | Save-Checkpoint ./ck -ErrorVariable e -ErrorAction SilentlyContinue
"n=$($e.Count)"
"id=$($e[0].FullyQualifiedErrorId)"
"cat=$($e[0].CategoryInfo.Category)"
"type=$($e[0].Exception.GetType().Name)"
"msg=$($e[0].Exception.Message)"
"steps=$(@(Get-CheckpointStep ./ck -ErrorAction SilentlyContinue).Count)"
,[float[]](1, 2, 3) | Save-Checkpoint ./ck2
Save-Checkpoint ./ck3 -InputObject ([float[]](1, 2, 3))
"wrapped=$((Restore-Checkpoint ./ck2) -join ',') $(@(Get-CheckpointStep ./ck2).Count)"
"named=$((Restore-Checkpoint ./ck3) -join ',')"
'@
        $out | Should -Contain 'n=3'
        $out | Should -Contain 'id=PipedLeafValue,DataraxCkpt.Commands.SaveCheckpointCommand'
        $out | Should -Contain 'cat=InvalidArgument'
        $out | Should -Contain 'type=PSArgumentException'
        ($out -match '^msg=.*-InputObject.*,\$a') | Should -Not -BeNullOrEmpty
        $out | Should -Contain 'steps=0'
        $out | Should -Contain 'wrapped=1,2,3 1'
        $out | Should -Contain 'named=1,2,3'
    }
}

Describe 'Output you can match up (item 6)' {
    It 'with -IncludeInfo each restored state carries PSCheckpointStep and PSCheckpointDirectory, and a re-save leaves them out' {
        $a = New-Store 'mark-a' 1, 2
        $b = New-Store 'mark-b' 7
        $states = @(Get-Checkpoint $a, $b | Restore-Checkpoint -IncludeInfo)
        $states.Count | Should -Be 3
        $states | ForEach-Object { $_.PSCheckpointStep | Should -Be $_.step }
        ($states | Where-Object PSCheckpointStep -EQ 7).PSCheckpointDirectory | Should -Be $b

        $obj = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'mark-obj')
        [pscustomobject]@{ lr = 0.1 } | Save-Checkpoint $obj.FullName -Step 1
        $restored = Restore-Checkpoint $obj.FullName -IncludeInfo
        $restored.PSCheckpointStep | Should -Be 1
        $restored | Save-Checkpoint $obj.FullName -Step 2
        (Get-CheckpointItem $obj.FullName -Step 2).Name | Should -Be @('lr')
    }

    It 'without -IncludeInfo a restored state is exactly what was saved' {
        $dir = Join-Path $TestDrive 'unmarked'
        [pscustomobject]@{ b = 1; a = 2 } | Save-Checkpoint $dir
        (Restore-Checkpoint $dir).PSObject.Properties.Name | Should -Be @('b', 'a')
        (Restore-Checkpoint $dir | ConvertTo-Json -Compress) | Should -Be '{"b":1,"a":2}'
    }

    It "'./ck' | Get-Checkpoint and Get-CheckpointStep ./ck | Restore-Checkpoint -Path ./ck bind" {
        $out = Invoke-Fresh @'
foreach ($s in 1, 2) { @{ s = $s } | Save-Checkpoint ./ck -Step $s }
"get=$(('./ck' | Get-Checkpoint).Step -join ',')"
"restore=$((Get-CheckpointStep ./ck | Restore-Checkpoint -Path ./ck -IncludeInfo | ForEach-Object { "$($_.s)@$($_.PSCheckpointStep)" }) -join ',')"
"records=$((Get-Checkpoint ./ck -Step 1 | Restore-Checkpoint).s)"
'@
        $out | Should -Contain 'get=1,2'
        $out | Should -Contain 'restore=1@1,2@2'
        $out | Should -Contain 'records=1'
    }
}

Describe 'Retention reports (item 7)' {
    It '-WhatIf lines show each step''s size' {
        $dir = New-Store 'sizes' 1, 2, 3
        $info = Get-Checkpoint $dir -Step 1
        $out = Invoke-FreshPwsh -Script "Import-Module '$ModuleManifest'; Remove-Checkpoint '$dir' -Keep 2 -WhatIf"
        ($out.Output -match "What if: .*step 1 \($($info.StoredSize) bytes") | Should -Not -BeNullOrEmpty
    }

    It '-PassThru summarises removed, kept and bytes freed per directory' {
        $dir = New-Store 'summary' 1, 2, 3, 4
        $sizes = (Get-Checkpoint $dir -Step 1, 2 | Measure-Object StoredSize -Sum).Sum
        $summary = Remove-Checkpoint $dir -Keep 2 -PassThru -WarningAction SilentlyContinue
        $summary.PSObject.TypeNames[0] | Should -Be 'DataraxCkpt.RetentionSummary'
        $summary.Directory | Should -Be $dir
        $summary.Removed.Step | Should -Be @(1, 2)
        $summary.Kept | Should -Be @(3, 4)
        $summary.BytesFreed | Should -Be $sizes
        $summary.WhatIf | Should -BeFalse
    }

    It 'no line is logged twice under -Verbose' {
        $dir = New-Store 'verbose' 1, 2, 3
        $lines = @(Remove-Checkpoint $dir -Step 1 -Verbose 4>&1 | ForEach-Object { "$_" })
        $lines = $lines + @(Remove-Checkpoint $dir -Keep 1 -Verbose 4>&1 | ForEach-Object { "$_" })
        $lines.Count | Should -BeGreaterThan 0
        ($lines | Group-Object | Where-Object Count -GT 1) | Should -BeNullOrEmpty
    }

    It '-LockTimeout <Seconds> bounds the wait for a busy directory on <Command>' -ForEach @(
        @{ Command = 'Remove-Checkpoint'; Line = 'Remove-Checkpoint $dir -Keep 1 -LockTimeout 1'; Seconds = 1 }
        @{ Command = 'Save-Checkpoint'; Line = '@{ a = 1 } | Save-Checkpoint $dir -LockTimeout 1'; Seconds = 1 }
        @{ Command = 'Lock-Checkpoint'; Line = 'Lock-Checkpoint $dir -Step 1 -LockTimeout 1'; Seconds = 1 }
        @{ Command = 'Unlock-Checkpoint'; Line = 'Unlock-Checkpoint $dir -Step 1 -LockTimeout 1'; Seconds = 1 }
        @{ Command = 'Repair-CheckpointIndex'; Line = 'Repair-CheckpointIndex $dir -LockTimeout 1 -Confirm:$false'; Seconds = 1 }
    ) {
        $dir = New-Store ('busy-' + [guid]::NewGuid().ToString('N')) 1, 2
        # Hold the directory lock as another process's writer would.
        $holder = [IO.FileStream]::new((Join-Path $dir '.lock'), 'OpenOrCreate', 'ReadWrite', 'None')
        try {
            $out = Invoke-Fresh "`$dir = '$dir'; `$sw = [Diagnostics.Stopwatch]::StartNew(); $Line -ErrorVariable e -ErrorAction SilentlyContinue; `"id=`$(`$e[0].FullyQualifiedErrorId)`"; `"ms=`$(`$sw.ElapsedMilliseconds)`""
        }
        finally { $holder.Dispose() }
        $out | Should -Contain "id=LockTimeout,DataraxCkpt.Commands.$($Command -replace '-', '')Command"
        $ms = @($out -match '^ms=\d+$')
        $ms.Count | Should -Be 1 -Because ($out -join "`n")
        [int]($ms[0] -replace 'ms=') | Should -BeLessThan 30000 -Because 'the engine default would wait 60 s' 
    }
}

Describe 'A negative -LockTimeout is refused (item 7)' {
    It '-LockTimeout <Value> is refused before anything is touched' -ForEach @(
        @{ Value = '-1' }
        @{ Value = '(New-TimeSpan -Seconds -5)' }
        @{ Value = "'-1'" }
    ) {
        $dir = New-Store ('negative-wait-' + [guid]::NewGuid().ToString('N')) 1, 2
        $out = Invoke-Fresh "try { Remove-Checkpoint '$dir' -Step 1 -LockTimeout $Value -Confirm:`$false -ErrorAction Stop; 'ran' } catch { `"id=`$(`$_.FullyQualifiedErrorId)`"; `"message=`$(`$_.Exception.Message)`" }"
        $out | Should -Contain 'id=ParameterArgumentTransformationError,DataraxCkpt.Commands.RemoveCheckpointCommand'
        ($out -match '^message=') | Should -Match 'zero or more'
        Get-CheckpointStep $dir | Should -Be @(1, 2)
    }
}

Describe 'Argument errors and parameter sets (item 10)' {
    It 'NoRetentionRule and MetadataOnlyWithItem are PSArgumentExceptions, category InvalidArgument' {
        $out = Invoke-Fresh @'
@{ a = 1 } | Save-Checkpoint ./ck
try { Remove-Checkpoint ./ck -ErrorAction Stop } catch { "rule=$($_.FullyQualifiedErrorId)|$($_.CategoryInfo.Category)|$($_.Exception.GetType().Name)" }
try { Restore-Checkpoint ./ck -MetadataOnly -Item a -ErrorAction Stop } catch { "meta=$($_.FullyQualifiedErrorId)|$($_.CategoryInfo.Category)|$($_.Exception.GetType().Name)" }
'@
        $out | Should -Contain 'rule=NoRetentionRule,DataraxCkpt.Commands.RemoveCheckpointCommand|InvalidArgument|PSArgumentException'
        $out | Should -Contain 'meta=MetadataOnlyWithItem,DataraxCkpt.Commands.RestoreCheckpointCommand|InvalidArgument|PSArgumentException'
    }

    It 'Remove-Checkpoint -Syntax never shows rules and -Step together' {
        $syntax = (Get-Command Remove-Checkpoint -Syntax) -split '\r?\n' | Where-Object { $_ -match 'Remove-Checkpoint' }
        $syntax.Count | Should -Be 4
        $syntax | Where-Object { $_ -match '-Keep' -and $_ -match '-Step' } | Should -BeNullOrEmpty
        $syntax | Where-Object { $_ -match '-Keep' -and $_ -match '-Force' } | Should -BeNullOrEmpty
    }

    It 'Save-Checkpoint -Path to a folder that does not exist yet takes wildcard characters literally' {
        $out = Invoke-Fresh @'
@{ a = 1 } | Save-Checkpoint './run[1]' -ErrorVariable e -ErrorAction SilentlyContinue
"errors=$($e.Count)"
"exists=$(Test-Path -LiteralPath (Join-Path $root 'run[1]'))"
"steps=$(Get-CheckpointStep -LiteralPath './run[1]')"
'@
        $out | Should -Contain 'errors=0'
        $out | Should -Contain 'exists=True'
        $out | Should -Contain 'steps=0'
    }

    It 'a bare piped Remove-Checkpoint does not prompt for Step: it says which rule is missing' {
        $out = Invoke-Fresh @'
@{ a = 1 } | Save-Checkpoint ./ck
try { Get-Item ./ck | Remove-Checkpoint -ErrorAction Stop; 'ran' } catch { "id=$($_.FullyQualifiedErrorId)" }
"steps=$(Get-CheckpointStep ./ck)"
'@
        $out | Should -Contain 'id=NoRetentionRule,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $out | Should -Contain 'steps=0'
    }
}
