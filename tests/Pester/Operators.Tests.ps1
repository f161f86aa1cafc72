# Issue 3: inspection, verification, pinning, repair, presentation and completion.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-ModelStore([string] $Name) {
        $dir = Join-Path $TestDrive $Name
        $kernel = [float[,]]::new(4, 3)
        $kernel[0, 0] = 1
        [ordered]@{ params = [ordered]@{ linear = [ordered]@{ kernel = $kernel; bias = [float[]]::new(3) } }; step = 1 } |
            Save-Checkpoint $dir -Step 1
        $kernel[0, 0] = 3.5
        [ordered]@{ params = [ordered]@{ linear = [ordered]@{ kernel = $kernel }; extra = [double[]](1, 2) }; step = 2 } |
            Save-Checkpoint $dir -Step 2
        $dir
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Get-CheckpointItem' {
    BeforeAll { $dir = New-ModelStore 'items' }

    It 'lists every leaf of the latest step with kind, dtype and shape' {
        $items = Get-CheckpointItem $dir
        $items.Name | Should -Contain 'params/linear/kernel'
        $items.Name | Should -Contain 'params/extra'
        $items | ForEach-Object { $_.Step | Should -Be 2 }
        $kernel = $items | Where-Object Name -EQ 'params/linear/kernel'
        $kernel.DType | Should -Be 'f32'
        @($kernel.Shape) | Should -Be @(4, 3)
        $kernel.Size | Should -Be 48
    }

    It 'filters names with -Name wildcards and reads the step given' {
        $items = Get-CheckpointItem $dir -Step 1 -Name 'params/*/b*'
        $items.Name | Should -Be @('params/linear/bias')
    }

    It 'takes the step from piped checkpoint records' {
        (Get-Checkpoint $dir -Step 1 | Get-CheckpointItem -Name 'params/linear/bias').Step | Should -Be 1
    }
}

Describe 'Restore-Checkpoint -Item and -MetadataOnly' {
    BeforeAll { $dir = New-ModelStore 'partial' }

    It 'restores only the leaves that match, keyed by item name' {
        $state = Restore-Checkpoint $dir -Item 'params/linear/*'
        $state | Should -BeOfType [System.Collections.Specialized.OrderedDictionary]
        @($state.Keys) | Should -Be @('params/linear/kernel')
        $state['params/linear/kernel'].GetType() | Should -Be ([float[,]])
        $state['params/linear/kernel'][0, 0] | Should -Be 3.5
    }

    It 'restores only the metadata' {
        $meta = @{ note = 'hello' }
        @{ x = 1 } | Save-Checkpoint $dir -Step 3 -Metadata $meta
        (Restore-Checkpoint $dir -Step 3 -MetadataOnly)['note'] | Should -Be 'hello'
    }
}

Describe 'Compare-Checkpoint' {
    It 'reports added, removed and changed leaves with the largest difference' {
        $dir = New-ModelStore 'compare'
        $differences = Compare-Checkpoint $dir 1 2
        ($differences | Where-Object Name -EQ 'params/extra').Change | Should -Be 'Added'
        ($differences | Where-Object Name -EQ 'params/linear/bias').Change | Should -Be 'Removed'
        $kernel = $differences | Where-Object Name -EQ 'params/linear/kernel'
        $kernel.Change | Should -Be 'Changed'
        $kernel.MaxAbsDifference | Should -Be 2.5
    }

    It 'reports a container whose type changed and an empty container added, and the table shows both types' {
        $dir = Join-Path $TestDrive 'compare-containers'
        [ordered]@{ opt = @{ lr = 1 }; step = 1 } | Save-Checkpoint $dir -Step 1
        [ordered]@{ opt = [ordered]@{ lr = 1 }; step = 1; cache = [ordered]@{} } | Save-Checkpoint $dir -Step 2
        $differences = @(Compare-Checkpoint $dir 1 2)
        $differences.Name | Should -Be @('cache', 'opt')
        $opt = $differences | Where-Object Name -EQ 'opt'
        $opt.Change | Should -Be 'Changed'
        $opt.DTypeBefore | Should -Match '^hashtable'
        $opt.DTypeAfter | Should -Match '^ordered'
        ($differences | Where-Object Name -EQ 'cache').Change | Should -Be 'Added'
        ($differences | Format-Table | Out-String) | Should -Match 'opt\s+Changed\s+hashtable\S* -> ordered'
    }
}

Describe 'Test-Checkpoint' {
    It 'reports every step intact, and -Quiet says True' {
        $dir = New-ModelStore 'verify-ok'
        $results = Test-Checkpoint $dir
        $results.Step | Should -Be @(1, 2)
        $results | ForEach-Object { $_.Ok | Should -BeTrue }
        Test-Checkpoint $dir -Quiet | Should -BeTrue
    }

    It 'finds a flipped bit, names the step, and -Quiet says False' {
        $dir = New-ModelStore 'verify-bad'
        foreach ($file in Get-ChildItem -LiteralPath (Join-Path $dir '2') -Recurse -File) {
            $bytes = [IO.File]::ReadAllBytes($file.FullName)
            if ($bytes.Length -gt 16) {
                $bytes[$bytes.Length - 8] = $bytes[$bytes.Length - 8] -bxor 0x01
                [IO.File]::WriteAllBytes($file.FullName, $bytes)
            }
        }
        $results = Test-Checkpoint $dir -ErrorAction SilentlyContinue
        ($results | Where-Object Step -EQ 1).Ok | Should -BeTrue
        ($results | Where-Object Step -EQ 2).Ok | Should -BeFalse
        Test-Checkpoint $dir -Quiet | Should -BeFalse
    }

    It '-Quiet says False for a missing directory' {
        Test-Checkpoint (Join-Path $TestDrive 'nothing') -Quiet | Should -BeFalse
    }
}

Describe 'Lock-Checkpoint and Unlock-Checkpoint' {
    It 'a pinned step survives retention and -Step without -Force' {
        $dir = Join-Path $TestDrive 'pins'
        foreach ($step in 1..4) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        (Lock-Checkpoint $dir 1 -PassThru).Pinned | Should -BeTrue
        Remove-Checkpoint $dir -Keep 1
        Get-CheckpointStep $dir | Should -Be @(1, 4)
        $errors = $null
        Remove-Checkpoint $dir -Step 1 -ErrorVariable errors -ErrorAction SilentlyContinue
        $errors[0].FullyQualifiedErrorId | Should -BeExactly 'StepPinned,DataraxCkpt.Commands.RemoveCheckpointCommand'
        Get-CheckpointStep $dir | Should -Be @(1, 4)
        Remove-Checkpoint $dir -Step 1 -Force
        Get-CheckpointStep $dir | Should -Be @(4)
    }

    It 'an unpinned step is subject to retention again' {
        $dir = Join-Path $TestDrive 'unpin'
        foreach ($step in 1..3) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        Lock-Checkpoint $dir 1
        (Unlock-Checkpoint $dir 1 -PassThru).Pinned | Should -BeFalse
        Remove-Checkpoint $dir -Keep 1
        Get-CheckpointStep $dir | Should -Be @(3)
    }
}

Describe 'Repair-CheckpointIndex' {
    It '-WhatIf reports a dry run and changes nothing' {
        $dir = Join-Path $TestDrive 'repair-dry'
        foreach ($step in 1, 2) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        # Every file, the index files included, by content: a dry run must not write the index either.
        $snapshot = { Get-ChildItem -LiteralPath $dir -Recurse -File | Sort-Object FullName |
            ForEach-Object { "$($_.FullName)|$($_.Length)|$((Get-FileHash -LiteralPath $_.FullName -Algorithm SHA256).Hash)" } }
        $before = & $snapshot
        ($before -join "`n") | Should -Match 'index\.sqlite\|'
        $dry = Repair-CheckpointIndex $dir -WhatIf
        $dry.DryRun | Should -BeTrue
        @($dry.StepsIndexed) | Should -Be @(1, 2)
        & $snapshot | Should -Be $before
    }

    It 'repairs a corrupt (not deleted) index; -WhatIf first leaves the corrupt bytes as they were' {
        $dir = Join-Path $TestDrive 'repair-corrupt'
        foreach ($step in 1, 2, 3) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        Lock-Checkpoint $dir 2
        $index = Join-Path $dir 'index.sqlite'
        Get-ChildItem -LiteralPath $dir -Filter 'index.sqlite-*' | Remove-Item
        $junk = [byte[]]::new(4096); [Random]::new(5).NextBytes($junk)
        $stream = [IO.File]::OpenWrite($index); try { $stream.Write($junk, 0, $junk.Length) } finally { $stream.Dispose() }
        $corruptHash = (Get-FileHash -LiteralPath $index).Hash

        $dry = Repair-CheckpointIndex $dir -WhatIf -ErrorAction Stop
        $dry.DryRun | Should -BeTrue
        @($dry.StepsIndexed) | Should -Be @(1, 2, 3)
        (Get-FileHash -LiteralPath $index).Hash | Should -Be $corruptHash

        $report = Repair-CheckpointIndex $dir -ErrorAction Stop
        $report.DryRun | Should -BeFalse
        @($report.StepsIndexed) | Should -Be @(1, 2, 3)
        Get-CheckpointStep $dir | Should -Be @(1, 2, 3)
        (Restore-Checkpoint $dir -Step 3).s | Should -Be 3
        (Get-Checkpoint $dir -Step 2).Pinned | Should -BeTrue
        Test-Checkpoint $dir -Quiet | Should -BeTrue
    }

    It '-WhatIf on a directory whose index was deleted reports what a repair would add' {
        $dir = Join-Path $TestDrive 'repair-dry-noindex'
        foreach ($step in 1, 2) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        Get-ChildItem -LiteralPath $dir -Filter 'index.sqlite*' | Remove-Item
        $dry = Repair-CheckpointIndex $dir -WhatIf -ErrorAction Stop
        $dry.DryRun | Should -BeTrue
        @($dry.StepsAdded) | Should -Be @(1, 2)
        Get-ChildItem -LiteralPath $dir -Filter 'index.sqlite*' | Should -BeNullOrEmpty
    }

    It 'rebuilds a deleted index from the step folders' {
        $dir = Join-Path $TestDrive 'repair'
        foreach ($step in 1, 2) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        Get-ChildItem -LiteralPath $dir -Filter 'index.sqlite*' | Remove-Item
        $report = Repair-CheckpointIndex $dir
        $report.DryRun | Should -BeFalse
        @($report.StepsIndexed) | Should -Be @(1, 2)
        (Restore-Checkpoint $dir -Step 2).s | Should -Be 2
    }
}

Describe 'Presentation' {
    BeforeAll { $dir = New-ModelStore 'views' }

    It 'shows checkpoints with human sizes and a compression ratio' {
        $text = Get-Checkpoint $dir | Format-Table | Out-String
        $text | Should -Match 'Ratio'
        $text | Should -Match '\d+(\.\d)? (B|KiB|MiB)'
    }

    It 'shows differences as one row per leaf with dtype and shape changes' {
        $text = Compare-Checkpoint $dir 1 2 | Out-String -Width 200
        $text | Should -Match 'params/extra\s+Added\s+- -> f64\s+- -> \(2\)'
        $text | Should -Match 'params/linear/kernel\s+Changed\s+f32\s+\(4, 3\)\s+2[.,]5'
    }

    It 'shows PRNG keys compactly as implementation and key data' {
        $null = Get-CheckpointStep $dir   # the engine loads on first use
        $keyType = Get-EngineType 'DataraxCkpt.PrngKey'
        $text = $keyType::Create(42) | Out-String
        $text | Should -Match 'threefry2x32\s+\[0, 42\]'
    }

    It 'keeps raw numbers in properties, so JSON stays clean' {
        $json = Get-Checkpoint $dir -Step 1 | Select-Object Step, Size, StoredSize | ConvertTo-Json | ConvertFrom-Json
        $json.Size | Should -BeOfType [long]
        $json.Size | Should -BeGreaterThan 0
    }

    It 'narrates a save with -Verbose' {
        $lines = @{ a = 1 } | Save-Checkpoint (Join-Path $TestDrive 'verbose') -Step 0 -Verbose 4>&1
        ($lines | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" | Should -Match 'Saved step 0'
    }

    It 'completes -Step from the index of the -Path given' {
        $line = "Restore-Checkpoint -Path '$dir' -Step "
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Be @('2', '1')
    }

    It 'completes -Item and -Name from the leaves of the step given' {
        $line = "Restore-Checkpoint -Path '$dir' -Step 1 -Item params/linear/b"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Be @("'params/linear/bias'")
        $line = "Get-CheckpointItem -Path '$dir' -Name params/e"
        $completion = TabExpansion2 -inputScript $line -cursorColumn $line.Length
        $completion.CompletionMatches.CompletionText | Should -Be @("'params/extra'")
    }
}
