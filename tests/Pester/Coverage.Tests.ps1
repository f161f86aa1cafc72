# Issue 13, missing coverage through the cmdlets: -WhatIf that must change nothing, the path and
# argument errors by their stable ids, a missing step for Lock/Unlock, New-PrngKey from the pipeline.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-Store([string] $Name, [long[]] $Steps) {
        $dir = Join-Path $TestDrive $Name
        foreach ($step in $Steps) { @{ s = $step } | Save-Checkpoint -LiteralPath $dir -Step $step }
        $dir
    }

    function Get-Snapshot([string] $Dir) {
        Get-ChildItem -LiteralPath $Dir -Recurse -File | Sort-Object FullName |
            ForEach-Object { "$($_.FullName)|$((Get-FileHash -LiteralPath $_.FullName).Hash)" }
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe '-WhatIf changes nothing' {
    It 'Save-Checkpoint -WhatIf writes no step (and creates no directory)' {
        $dir = Join-Path $TestDrive 'save-whatif'
        @{ s = 1 } | Save-Checkpoint -LiteralPath $dir -Step 1 -WhatIf
        Test-Path -LiteralPath $dir | Should -BeFalse
        $existing = New-Store 'save-whatif-existing' 1
        $before = Get-Snapshot $existing
        @{ s = 2 } | Save-Checkpoint -LiteralPath $existing -Step 2 -WhatIf
        Get-CheckpointStep -LiteralPath $existing | Should -Be @(1)
        Get-Snapshot $existing | Should -Be $before
    }

    It 'Lock-Checkpoint and Unlock-Checkpoint -WhatIf leave the pin as it was' {
        $dir = New-Store 'pin-whatif' 1, 2
        Lock-Checkpoint -LiteralPath $dir -Step 1 -WhatIf
        (Get-Checkpoint -LiteralPath $dir -Step 1).Pinned | Should -BeFalse
        Lock-Checkpoint -LiteralPath $dir -Step 2
        Unlock-Checkpoint -LiteralPath $dir -Step 2 -WhatIf
        (Get-Checkpoint -LiteralPath $dir -Step 2).Pinned | Should -BeTrue
    }
}

Describe 'Errors by id' {
    It 'Lock-Checkpoint and Unlock-Checkpoint of a missing step report StepNotFound' {
        $dir = New-Store 'pin-missing' 1
        Lock-Checkpoint -LiteralPath $dir -Step 9 -ErrorVariable lockErrors -ErrorAction SilentlyContinue
        $lockErrors[0].FullyQualifiedErrorId | Should -BeExactly 'StepNotFound,DataraxCkpt.Commands.LockCheckpointCommand'
        Unlock-Checkpoint -LiteralPath $dir -Step 9 -ErrorVariable unlockErrors -ErrorAction SilentlyContinue
        $unlockErrors[0].FullyQualifiedErrorId | Should -BeExactly 'StepNotFound,DataraxCkpt.Commands.UnlockCheckpointCommand'
        (Get-Checkpoint -LiteralPath $dir -Step 1).Pinned | Should -BeFalse
    }

    It 'Save-Checkpoint to a wildcard matching two directories is AmbiguousPath and saves nothing' {
        $a = New-Store 'amb-a' 1
        $b = New-Store 'amb-b' 1
        { @{ s = 5 } | Save-Checkpoint -Path (Join-Path $TestDrive 'amb-*') -Step 5 -ErrorAction Stop } |
            Should -Throw -ErrorId 'AmbiguousPath,DataraxCkpt.Commands.SaveCheckpointCommand'
        Get-CheckpointStep -LiteralPath $a | Should -Be @(1)
        Get-CheckpointStep -LiteralPath $b | Should -Be @(1)
    }

    It 'Restore-Checkpoint -MetadataOnly with -Item is MetadataOnlyWithItem' {
        $dir = New-Store 'meta-item' 1
        { Restore-Checkpoint -LiteralPath $dir -MetadataOnly -Item 's' -ErrorAction Stop } |
            Should -Throw -ErrorId 'MetadataOnlyWithItem,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }

    It 'a wildcard under a folder that does not exist is PathNotFound' {
        Get-CheckpointStep -Path (Join-Path $TestDrive 'no-such-parent/ck*') -ErrorVariable found -ErrorAction SilentlyContinue
        $found[0].FullyQualifiedErrorId | Should -BeExactly 'PathNotFound,DataraxCkpt.Commands.GetCheckpointStepCommand'
    }

    It 'a path on a drive that does not exist is InvalidPath' {
        Get-CheckpointStep -Path 'nosuchdrive:/ck' -ErrorVariable invalid -ErrorAction SilentlyContinue
        $invalid[0].FullyQualifiedErrorId | Should -BeExactly 'InvalidPath,DataraxCkpt.Commands.GetCheckpointStepCommand'
    }
}

Describe 'New-PrngKey' {
    It 'takes seeds from the pipeline, one key per seed' {
        $keys = @(1, 2, 3 | New-PrngKey)
        $keys.Count | Should -Be 3
        for ($i = 0; $i -lt 3; $i++) { ($keys[$i].KeyData -join ',') | Should -Be ((New-PrngKey ($i + 1)).KeyData -join ',') }
        # JAX: jax.random.key_data(jax.random.key(n)) is [0, n] for small n.
        ($keys[2].KeyData -join ',') | Should -Be '0,3'
    }

    It 'applies several -FoldIn values in order, as chained fold_in calls' {
        $chained = New-PrngKey 7 -FoldIn 3, 5
        $stepwise = (New-PrngKey 7 -FoldIn 3).FoldIn(5)
        ($chained.KeyData -join ',') | Should -Be ($stepwise.KeyData -join ',')
        ($chained.KeyData -join ',') | Should -Not -Be ((New-PrngKey 7 -FoldIn 5, 3).KeyData -join ',')
    }

    It 'with -FoldIn and -Split folds first, then splits' {
        $split = New-PrngKey 7 -FoldIn 3 -Split 2
        $split.Count | Should -Be 2
        $expected = (New-PrngKey 7 -FoldIn 3).Split(2)
        ($split[0].KeyData -join ',') | Should -Be ($expected[0].KeyData -join ',')
        ($split[1].KeyData -join ',') | Should -Be ($expected[1].KeyData -join ',')
        ($split[0].KeyData -join ',') | Should -Not -Be ((New-PrngKey 7 -Split 2)[0].KeyData -join ',')
    }
}
