# Every example in the cmdlets' help runs, against a fixture store laid out like the examples assume:
# ./ck with steps 10, 20, 50, 100, 200, 4200 (params/linear/kernel, metadata) and ./runs/a, ./runs/b; ./train with
# steps 1..5 whose params/w went NaN at step 4 (and +Inf at step 5).

BeforeDiscovery {
    $sources = Join-Path $PSScriptRoot '../../docs/help'
    $examples = foreach ($file in Get-ChildItem -LiteralPath $sources -Filter '*-*.md') {
        $name = $file.BaseName
        $title = $null; $code = $null; $inFence = $false
        foreach ($line in Get-Content -LiteralPath $file.FullName) {
            if ($inFence) {
                if ($line -match '^```') { $inFence = $false; @{ Cmdlet = $name; Title = $title; Code = $code.ToString() } }
                else { [void]$code.AppendLine($line) }
            }
            elseif ($line -match '^### (.+)$') { $title = $Matches[1] }
            elseif ($line -match '^```powershell') { $inFence = $true; $code = [System.Text.StringBuilder]::new() }
        }
    }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    # Examples on az://ckpts/... run against Azurite, each in a container of its own ($Remote in the checks).
    $script:SavedConnection = $env:AZURE_STORAGE_CONNECTION_STRING
    $env:AZURE_STORAGE_CONNECTION_STRING = (Get-TestAzurite).ConnectionString

    # What each example must print or leave behind, against the fixture above (kernel[0,0] = step number).
    $script:ExampleChecks = @{
        'Compare-Checkpoint | What changed between step 100 and the latest step' = { param($o)
            # The second step omitted: the latest step (4200) is compared.
            $o.Count | Should -Be 1
            $o[0].Name | Should -Be 'params/linear/kernel'
            $o[0].Change | Should -Be 'Changed'
            $o[0].MaxAbsDifference | Should -Be 4100 }
        'Compare-Checkpoint | Which tensors moved most' = { param($o)
            # kernel[0,0]: 100 -> 200, the other 31 elements 0: one element differs by 100.
            $o | ForEach-Object { $_.GetType().FullName | Should -Be 'DataraxCkpt.TensorDifference' }
            $o[0].Item | Should -BeExactly 'params/linear/kernel'
            $o[0].StepBefore | Should -Be 100
            $o[0].StepAfter | Should -Be 200
            $o[0].Count | Should -Be 32
            $o[0].DifferentCount | Should -Be 1
            $o[0].MaxAbsoluteDifference | Should -Be 100
            [math]::Abs($o[0].MeanAbsoluteDifference - 100 / 32) | Should -BeLessThan 1e-12
            [math]::Abs($o[0].RelativeChange - 1) | Should -BeLessThan 1e-12 }
        'Compare-Checkpoint | How far the parameters moved, as numbers' = { param($o)
            $o.Count | Should -Be 1
            $o[0].Item | Should -BeExactly 'params/linear/kernel'
            $o[0].DifferentCount | Should -Be 1
            $o[0].MaxAbsoluteDifference | Should -Be 4190
            [math]::Abs($o[0].RelativeChange - 419) | Should -BeLessThan 1e-9 }
        'Compare-Checkpoint | Only the tensors that moved by more than 0.1' = { param($o)
            $o.Count | Should -Be 1
            $o[0].Name | Should -Be 'params/linear/kernel'
            $o[0].MaxAbsDifference | Should -Be 100 }
        'Get-Checkpoint | Show every step with its metadata' = { param($o)
            $o.Step | Should -Be @(10, 20, 50, 100, 200, 4200)
            $o | ForEach-Object { $_.Metadata['description'] | Should -Be "step $($_.Step)" } }
        'Get-Checkpoint | List the steps of a remote store and restore the latest one' = { param($o)
            $o.Count | Should -Be 3
            $o[0].Step, $o[1].Step | Should -Be @(50, 100)
            $o[0].Directory | Should -Be "$Remote/runs/run-1"
            $o[0].Metadata['description'] | Should -Be 'step 50'
            $o[2] | Should -Be 42 }
        'Copy-Checkpoint | Copy the local steps to Azure Blob storage and back' = { param($o)
            $o.Step | Should -Be @(100, 4200)
            $o[0].Directory | Should -Be (Join-Path $PWD 'from-blob')
            Get-CheckpointStep "$Remote/runs/run-1" | Should -Be @(100, 4200)
            (Restore-Checkpoint ./from-blob -Step 4200).params.linear.kernel[0, 0] | Should -Be 4200 }
        'Save-Checkpoint | Save to Azure Blob storage' = { param($o)
            $o.Count | Should -Be 1
            $o[0].Step | Should -Be 0
            $o[0].Directory | Should -Be "$Remote/runs/run-1"
            (Restore-Checkpoint "$Remote/runs/run-1").w | Should -Be @(1, 2, 3) }
        "Get-Checkpoint | Get the latest step's record and the two before it" = { param($o)
            $o.Step | Should -Be @(100, 200, 4200)
            $o[-1].Metadata['release'] | Should -Be 'v1' }
        'Get-Checkpoint | Remove every step below 100' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./ck | Should -Be @(100, 200, 4200) }
        'Get-CheckpointItem | What is in the latest step' = { param($o)
            $o.Step | Sort-Object -Unique | Should -Be 4200
            $o.Name | Sort-Object | Should -Be @('params/linear/kernel', 'position') }
        'Get-CheckpointItem | Only the kernels of step 100' = { param($o)
            $o.Count | Should -Be 1
            $o[0].Step | Should -Be 100
            $o[0].Name | Should -Be 'params/linear/kernel'
            @($o[0].Shape) | Should -Be @(8, 4) }
        'Get-CheckpointItem | Statistics of the parameters over every step' = { param($o)
            # kernel: 8x4 zeros with kernel[0,0] = step, so max = L2 = step, mean = step/32, 31 zeros.
            $o.Count | Should -Be 6
            $o.Step | Should -Be @(10, 20, 50, 100, 200, 4200)
            $o | ForEach-Object {
                $_.Item | Should -BeExactly 'params/linear/kernel'
                $_.DType | Should -Be 'f32'
                $_.Count | Should -Be 32
                $_.ZeroCount | Should -Be 31
                $_.NaNCount | Should -Be 0
                $_.Min | Should -Be 0
                $_.Max | Should -Be $_.Step
                [math]::Abs($_.Mean - $_.Step / 32) | Should -BeLessThan 1e-9
                [math]::Abs($_.L2Norm - $_.Step) | Should -BeLessThan 1e-9
                $_.IsFinite | Should -BeTrue } }
        'Get-CheckpointItem | Find the first step that went NaN' = { param($o)
            $o.Count | Should -Be 1
            $o[0].Step | Should -Be 4
            $o[0].Item | Should -BeExactly 'params/w'
            $o[0].NaNCount | Should -Be 1
            $o[0].PositiveInfinityCount | Should -Be 0 }
        'Get-CheckpointItem | Statistics as JSON for another tool' = { param($o)
            $o.Count | Should -Be 1
            $o[0] | Should -Match '"Count":32[,}]'
            $o[0] | Should -Match '"Max":4200(\.0)?[,}]'
            $json = $o[0] | ConvertFrom-Json
            $json.Item | Should -BeExactly 'params/linear/kernel'
            [math]::Abs($json.L2Norm - 4200) | Should -BeLessThan 1e-9 }
        'Get-CheckpointStep | List the steps and the latest step' = { param($o)
            $o | Should -Be @(10, 20, 50, 100, 200, 4200, 4200) }
        'Get-CheckpointStep | Restore only when there is something to restore' = { param($o)
            $o | Should -BeNullOrEmpty }
        'Lock-Checkpoint | Keep the best step forever' = { param($o)
            $o | Should -BeNullOrEmpty
            (Get-Checkpoint ./ck | Where-Object Pinned).Step | Should -Be 4200 }
        'Lock-Checkpoint | Pin every step that has a release tag in its metadata' = { param($o)
            $o.Count | Should -Be 1
            $o[0].Step | Should -Be 4200
            $o[0].Pinned | Should -BeTrue
            (Get-Checkpoint ./ck | Where-Object Pinned).Step | Should -Be 4200 }
        'New-PrngKey | The guide''s PRNG state, saved and restored' = { param($o)
            # JAX: jax.random.key_data(jax.random.key(42)) is [0, 42].
            $o | Should -Be @(0, 42)
            (Restore-Checkpoint ./keys).split_keys.Count | Should -Be 4 }
        'New-PrngKey | A per-epoch key' = { param($o)
            $o.Count | Should -Be 1
            @($o[0].KeyData).Count | Should -Be 2
            ($o[0].KeyData -join ',') | Should -Not -Be ((New-PrngKey 7).KeyData -join ',')
            ($o[0].KeyData -join ',') | Should -Be ((New-PrngKey 7 -FoldIn 3).KeyData -join ',') }
        'Remove-Checkpoint | See what a retention run would remove, then run it' = { param($o)
            # Keep the 5 highest; no multiple of 1000 among the steps: only step 10 goes. -WhatIf emits
            # nothing; the real run's -PassThru emits one summary for the directory.
            $summaries = @($o | Where-Object { $_.PSObject.Properties['Removed'] })
            $summaries.Count | Should -Be 1
            @($summaries[0].Removed.Step) | Should -Be @(10)
            $summaries[0].BytesFreed | Should -BeGreaterThan 0
            Get-CheckpointStep ./ck | Should -Be @(20, 50, 100, 200, 4200) }
        'Remove-Checkpoint | Keep the last good steps of a run that went NaN' = { param($o)
            # Finite: 1, 2, 3; step 4 holds NaN, step 5 (the newest) NaN and +Inf.
            $o | Should -Be 'removed 1,4; kept 2,3,5'
            Get-CheckpointStep ./train | Should -Be @(2, 3, 5) }
        'Remove-Checkpoint | Remove every step on purpose' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./ck | Should -BeNullOrEmpty }
        'Remove-Checkpoint | A scheduled job that reports what it freed' = { param($o)
            # A table: one row per run folder, steps 1 and 2 removed from each.
            ($o | Out-String) | Should -Match 'Directory'
            Get-CheckpointStep ./runs/a | Should -Be @(3, 4, 5, 6, 7)
            Get-CheckpointStep ./runs/b | Should -Be @(3, 4, 5, 6, 7) }
        'Copy-Checkpoint | Archive the latest step' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./archive | Should -Be 4200
            (Restore-Checkpoint ./archive).params.linear.kernel[0, 0] | Should -Be 4200 }
        'Copy-Checkpoint | Copy the steps tagged for release, with their pins and metadata' = { param($o)
            $o.Step | Should -Be 4200
            Get-CheckpointStep ./releases | Should -Be 4200
            (Get-Checkpoint ./releases).Metadata['release'] | Should -Be 'v1' }
        'Copy-Checkpoint | See what a move of a whole run would copy' = { param($o)
            $o | Should -BeNullOrEmpty
            Test-Path ./moved | Should -BeFalse }
        'Copy-Checkpoint | Refresh an archive, replacing steps it already has, without their pins' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./archive | Should -Be @(10, 20)
            Get-Checkpoint ./archive | Where-Object Pinned | Should -BeNullOrEmpty }
        'Restore-Checkpoint | Restore several steps and tell them apart' = { param($o)
            $o | Should -Be @('10: 42', '20: 42', '50: 42', '100: 42', '200: 42', '4200: 42') }
        'Remove-Checkpoint | Prune every run folder' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./runs/a | Should -Be @(3, 4, 5, 6, 7)
            Get-CheckpointStep ./runs/b | Should -Be @(3, 4, 5, 6, 7) }
        'Remove-Checkpoint | Remove steps older than a week, or chosen steps' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./ck | Should -Be @(50, 100, 200, 4200) }
        'Repair-CheckpointIndex | See what a repair would do, then repair' = { param($o)
            $o.Count | Should -Be 2
            $o[0].DryRun | Should -BeTrue
            $o[1].DryRun | Should -BeFalse
            foreach ($report in $o) { @($report.StepsIndexed) | Should -Be @(10, 20, 50, 100, 200, 4200) } }
        'Repair-CheckpointIndex | Rebuild past an index the disk cannot read' = { param($o)
            # The fixture's index reads: -Force repairs it in place, sets nothing aside and reports no problem.
            $o | Should -BeNullOrEmpty
            Get-ChildItem ./ck -Filter 'index.sqlite.unreadable-*' | Should -BeNullOrEmpty
            Get-CheckpointStep ./ck | Should -Be @(10, 20, 50, 100, 200, 4200) }
        'Repair-CheckpointIndex | Repair every run folder' = { param($o)
            $o.Count | Should -Be 2
            foreach ($report in $o) { @($report.StepsIndexed) | Should -Be @(1..7) } }
        'Restore-Checkpoint | Restore into the arrays a state already holds' = { param($o)
            $o | Should -Be @($true, 7)
            (Restore-Checkpoint ./resume).w[1023] | Should -Be 1024 }
        'Restore-Checkpoint | Restore the latest step' = { param($o)
            $o | Should -Be @(42) }
        'Restore-Checkpoint | Restore a chosen step through the pipeline' = { param($o)
            $o.Count | Should -Be 1
            $o[0].params.linear.kernel[0, 0] | Should -Be 50
            $o[0].position | Should -Be 42 }
        'Restore-Checkpoint | Restore only some leaves, or only the metadata' = { param($o)
            $o.Count | Should -Be 2
            # -Item returns the matching leaves by name, and nothing else.
            @($o[0].Keys) | Should -Be @('params/linear/kernel')
            $o[0]['params/linear/kernel'][0, 0] | Should -Be 4200
            $o[1] | Should -Be 'step 4200' }
        'Save-Checkpoint | Save a training state as step 100, keeping the last five' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./ck | Should -Be 100
            (Get-Checkpoint ./ck -Step 100).Metadata['description'] | Should -Be 'Training checkpoint'
            $state = Restore-Checkpoint ./ck
            $state.position | Should -Be 42
            $state.epoch | Should -Be 5
            $state.w.GetLength(1) | Should -Be 10 }
        'Save-Checkpoint | Save several states as consecutive steps' = { param($o)
            $o.Step | Should -Be @(0, 1, 2)
            (Restore-Checkpoint ./ck -Step 2).v | Should -Be 3 }
        'Save-Checkpoint | Replace a step' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-CheckpointStep ./ck | Should -Be 1
            (Restore-Checkpoint ./ck -Step 1).v | Should -Be 2 }
        'Test-Checkpoint | Verify every step' = { param($o)
            $o.Step | Should -Be @(10, 20, 50, 100, 200, 4200)
            $o | ForEach-Object { $_.Ok | Should -BeTrue } }
        'Test-Checkpoint | Which steps hold NaN or infinity' = { param($o)
            $o | Should -Be @('4: params/w', '5: params/w') }
        'Test-Checkpoint | Prune only when the latest step is intact and finite' = { param($o)
            $o | Should -Be 'Step 5 is damaged or not finite; nothing removed'
            Get-CheckpointStep ./train | Should -Be @(1, 2, 3, 4, 5) }
        'Test-Checkpoint | Fail a job when anything is damaged' = { param($o)
            $o | Should -BeNullOrEmpty }
        'Unlock-Checkpoint | Unpin a step' = { param($o)
            $o | Should -BeNullOrEmpty
            (Get-Checkpoint ./ck | Where-Object Pinned).Step | Should -Be 200 }
        'Unlock-Checkpoint | Unpin every pinned step' = { param($o)
            $o | Should -BeNullOrEmpty
            Get-Checkpoint ./ck | Where-Object Pinned | Should -BeNullOrEmpty }
    }

    function New-ExampleFixture([string] $Root, [bool] $Empty) {
        New-Item -ItemType Directory -Path $Root | Out-Null
        if ($Empty) { return }
        $kernel = [float[,]]::new(8, 4)
        foreach ($step in 10, 20, 50, 100, 200, 4200) {
            $kernel[0, 0] = $step
            $meta = @{ description = "step $step" }
            if ($step -eq 4200) { $meta.release = 'v1' }
            [ordered]@{ params = [ordered]@{ linear = [ordered]@{ kernel = $kernel } }; position = 42 } |
                Save-Checkpoint (Join-Path $Root 'ck') -Step $step -Metadata $meta
        }
        foreach ($run in 'a', 'b') {
            foreach ($step in 1..7) { @{ s = $step } | Save-Checkpoint (Join-Path $Root "runs/$run") -Step $step }
        }
        # A training run that diverged: params/w is finite up to step 3, holds NaN at 4, NaN and +Inf at 5.
        foreach ($step in 1..5) {
            # Assigned in each branch: a statement's output would unroll the array into an object[] (no tensor).
            if ($step -eq 4) { $w = [float[]]@(4, [float]::NaN, 2, 0) }
            elseif ($step -eq 5) { $w = [float[]]@([float]::NaN, [float]::PositiveInfinity, [float]::NaN, 0) }
            else { $w = [float[]]@($step, -$step, (0.5 * $step), 0) }
            [ordered]@{ params = [ordered]@{ w = $w }; loss = 1.0 / $step } | Save-Checkpoint (Join-Path $Root 'train') -Step $step
        }
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
    $env:AZURE_STORAGE_CONNECTION_STRING = $SavedConnection
}

Describe 'Help example of <Cmdlet>: <Title>' -ForEach $examples {
    It 'runs without error and does what its title says' {
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        New-ExampleFixture $root ($Cmdlet -eq 'Save-Checkpoint')
        $key = "$Cmdlet | $Title"
        $ExampleChecks.ContainsKey($key) | Should -BeTrue -Because "every help example needs its expected output in HelpExamples.Tests.ps1 ('$key')"
        Push-Location -LiteralPath $root
        try {
            # Unpinning examples need something pinned first.
            if ($Cmdlet -eq 'Unlock-Checkpoint') { Lock-Checkpoint ./ck -Step 200; Lock-Checkpoint ./ck -Step 4200 }
            $ErrorActionPreference = 'Stop'
            $script:Remote = 'az://dx' + [guid]::NewGuid().ToString('N')
            $output = @(& ([scriptblock]::Create($Code.Replace('az://ckpts', $Remote))) 3>$null)
            $ErrorActionPreference = 'Continue'
            # Each check reads the example's output and, where the example changes the store, the store.
            & $ExampleChecks[$key] $output
        }
        finally {
            $ErrorActionPreference = 'Continue'
            Pop-Location
        }
    }
}
