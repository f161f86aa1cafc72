# Retention can never wipe a run by accident (issue 12): the newest committed step survives every rule,
# rules that keep nothing are refused with what to write instead, large removals say so, and only an
# explicit removal by number (-Step or piped records) empties a directory. Each scenario runs the
# built module in a fresh, non-interactive pwsh, as a scheduled job would.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-Store([string] $Name, [long[]] $Steps) {
        $dir = Join-Path $TestDrive $Name
        foreach ($step in $Steps) { @{ step = $step } | Save-Checkpoint $dir -Step $step }
        $dir
    }

    # Runs $Body in a fresh pwsh with the module imported and $dir set; returns the output lines.
    function Invoke-Job([string] $Dir, [string] $Body) {
        $script = "Import-Module '$ModuleManifest'; `$dir = '$Dir'; `$ErrorActionPreference = 'Continue'`n$Body"
        Invoke-FreshPwsh -Script $script
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Rules that keep nothing are refused' {
    It '-Keep ([int]$env:UNSET_VARIABLE) is refused as RetentionRuleKeepsNothing and removes nothing' {
        $dir = New-Store 'unset' 1, 2, 3
        $result = Invoke-Job $dir @'
Remove-Item Env:UNSET_VARIABLE -ErrorAction Ignore
try { Remove-Checkpoint $dir -Keep ([int]$env:UNSET_VARIABLE) -ErrorAction Stop; 'ran' }
catch { "id=$($_.FullyQualifiedErrorId)"; "category=$($_.CategoryInfo.Category)"; "type=$($_.Exception.GetType().FullName)"; "message=$($_.Exception.Message)" }
'@
        $result.Output | Should -Contain 'id=RetentionRuleKeepsNothing,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $result.Output | Should -Contain 'category=InvalidArgument'
        $result.Output | Should -Contain 'type=System.Management.Automation.PSArgumentException'
        ($result.Output -match '^message=') | Should -Match ([regex]::Escape('Get-Checkpoint <dir> | Remove-Checkpoint'))
        $result.Output | Should -Not -Contain 'ran'
        Get-CheckpointStep $dir | Should -Be @(1, 2, 3)
    }

    It '<Rule> is refused the same way' -ForEach @(
        @{ Rule = '-Keep 0' }
        @{ Rule = '-Keep -2' }
        @{ Rule = '-KeepEvery 0' }
        @{ Rule = '-OlderThan 0' }
        @{ Rule = '-OlderThan ([timespan]::FromDays(-1))' }
        @{ Rule = '-Keep 3 -KeepEvery 0' }
    ) {
        $dir = New-Store ('refused' + [guid]::NewGuid().ToString('N')) 1, 2
        $result = Invoke-Job $dir "try { Remove-Checkpoint `$dir $Rule -ErrorAction Stop; 'ran' } catch { `"id=`$(`$_.FullyQualifiedErrorId)`"; `"category=`$(`$_.CategoryInfo.Category)`" }"
        $result.Output | Should -Contain 'id=RetentionRuleKeepsNothing,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $result.Output | Should -Contain 'category=InvalidArgument'
        Get-CheckpointStep $dir | Should -Be @(1, 2)
    }
}

Describe 'An age without a unit is refused' {
    # PowerShell converts a number to a TimeSpan as ticks: -OlderThan 7 (meant as 7 days, or read from
    # [int]$env:MAX_AGE_DAYS) would be 700 ns and remove every step but the newest.
    It '-OlderThan <Value> (a bare number) is refused with what to write instead, and removes nothing' -ForEach @(
        @{ Value = '7' }
        @{ Value = '86400' }
        @{ Value = '([int]"30")' }
        @{ Value = '0.5' }
    ) {
        $dir = New-Store ('unitless' + [guid]::NewGuid().ToString('N')) 1, 2, 3
        $result = Invoke-Job $dir "try { Remove-Checkpoint `$dir -OlderThan $Value -Confirm:`$false -ErrorAction Stop; 'ran' } catch { `"id=`$(`$_.FullyQualifiedErrorId)`"; `"message=`$(`$_.Exception.Message)`" }"
        $result.Output | Should -Contain 'id=ParameterArgumentTransformationError,DataraxCkpt.Commands.RemoveCheckpointCommand'
        ($result.Output -match '^message=') | Should -Match ([regex]::Escape('New-TimeSpan -Days'))
        $result.Output | Should -Not -Contain 'ran'
        Get-CheckpointStep $dir | Should -Be @(1, 2, 3)
    }

    It '-OlderThan <Value> still means what it says' -ForEach @(
        @{ Value = '(New-TimeSpan -Days 7)' }
        @{ Value = "'7.00:00:00'" }
    ) {
        $dir = New-Store ('withunit' + [guid]::NewGuid().ToString('N')) 1, 2, 3
        $result = Invoke-Job $dir "Remove-Checkpoint `$dir -OlderThan $Value -Confirm:`$false -ErrorAction Stop; 'ran'"
        $result.Output | Should -Contain 'ran'
        Get-CheckpointStep $dir | Should -Be @(1, 2, 3)
    }
}

Describe '-LockTimeout ([timespan]::MaxValue) waits as long as it takes' {
    It '<Command> with the largest timeout works on a free directory' -ForEach @(
        @{ Command = 'Remove-Checkpoint $dir -Step 1 -Confirm:$false'; Left = @(2, 3) }
        @{ Command = 'Remove-Checkpoint $dir -Keep 1 -Confirm:$false'; Left = @(3) }
        @{ Command = 'Lock-Checkpoint $dir -Step 2'; Left = @(1, 2, 3) }
    ) {
        $dir = New-Store ('maxwait' + [guid]::NewGuid().ToString('N')) 1, 2, 3
        $result = Invoke-Job $dir "try { $Command -LockTimeout ([timespan]::MaxValue) -ErrorAction Stop; 'ran' } catch { `"id=`$(`$_.FullyQualifiedErrorId)`"; `"message=`$(`$_.Exception.Message)`" }"
        $result.Output | Should -Contain 'ran'
        $result.Output -match '^id=' | Should -BeNullOrEmpty
        Get-CheckpointStep $dir | Should -Be $Left
    }
}

Describe 'The newest committed step survives every rule' {
    It 'a rule set that would keep nothing leaves the newest step' {
        $dir = New-Store 'keeps-nothing' 1, 2, 3, 4
        Start-Sleep -Milliseconds 300
        $result = Invoke-Job $dir "Remove-Checkpoint `$dir -OlderThan ([timespan]::FromMilliseconds(100)) -KeepEvery 1000 -Confirm:`$false; Get-CheckpointStep `$dir | ForEach-Object { `"left=`$_`" }"
        $result.Output | Should -Contain 'left=4'
        @($result.Output -match '^left=').Count | Should -Be 1
        Get-CheckpointStep $dir | Should -Be @(4)
    }

    It 'pinned steps stay too' {
        $dir = New-Store 'pinned' 1, 2, 3
        Lock-Checkpoint $dir -Step 1
        Start-Sleep -Milliseconds 300
        Remove-Checkpoint $dir -OlderThan ([timespan]::FromMilliseconds(100))
        Get-CheckpointStep $dir | Should -Be @(1, 3)
    }

    It 'a piped explicit removal does empty the directory' {
        $dir = New-Store 'piped-all' 1, 2, 3
        $result = Invoke-Job $dir "Get-Checkpoint `$dir | Remove-Checkpoint -ErrorAction Stop; 'count=' + @(Get-CheckpointStep `$dir).Count"
        $result.Output | Should -Contain 'count=0'
        Get-CheckpointStep $dir | Should -BeNullOrEmpty
    }

    It '-Step removes the newest step when asked by number' {
        $dir = New-Store 'by-number' 1, 2
        Remove-Checkpoint $dir -Step 2
        Get-CheckpointStep $dir | Should -Be @(1)
    }
}

Describe 'Large removals say so' {
    It 'removing more than half the steps warns under -WhatIf and in the summary, and proceeds with -Confirm:$false' {
        $dir = New-Store 'large' 1, 2, 3, 4, 5
        $result = Invoke-Job $dir @'
Remove-Checkpoint $dir -Keep 1 -WhatIf 3>&1 | ForEach-Object { "whatif: $_" }
$summary = Remove-Checkpoint $dir -Keep 1 -Confirm:$false -PassThru -WarningVariable w -WarningAction SilentlyContinue
"warned=$($w.Count)"
"large=$($summary.LargeRemoval)"
"removed=$($summary.Removed.Step -join ',')"
'@
        ($result.Output -match '^whatif: .*4 of 5 steps') | Should -Not -BeNullOrEmpty
        $result.Output | Should -Contain 'warned=1'
        $result.Output | Should -Contain 'large=True'
        $result.Output | Should -Contain 'removed=1,2,3,4'
        Get-CheckpointStep $dir | Should -Be @(5)
    }

    It 'removing more than -LargeRemovalThreshold steps warns even when it is less than half' {
        $dir = New-Store 'threshold' (1..10)
        $warnings = $null
        $summary = Remove-Checkpoint $dir -Keep 7 -LargeRemovalThreshold 2 -PassThru -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings.Count | Should -Be 1
        "$($warnings[0])" | Should -Match '3 of 10 steps'
        $summary.LargeRemoval | Should -BeTrue
    }

    It 'a small removal does not warn' {
        $dir = New-Store 'small' (1..10)
        $warnings = $null
        $summary = Remove-Checkpoint $dir -Keep 8 -PassThru -WarningVariable warnings -WarningAction SilentlyContinue
        $warnings | Should -BeNullOrEmpty
        $summary.LargeRemoval | Should -BeFalse
    }
}
