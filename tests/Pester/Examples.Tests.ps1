# Every example runs to completion in a fresh pwsh against the built module.

BeforeDiscovery {
    $examples = Get-ChildItem -LiteralPath (Join-Path $PSScriptRoot '../../examples') -Filter '*.ps1' |
        ForEach-Object { @{ Name = $_.Name; Path = $_.FullName } }
}

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    # examples/remote-store.ps1 reaches Azurite as a user reaches an account: through the connection string.
    $script:AzuriteEnvironment = @{ AZURE_STORAGE_CONNECTION_STRING = (Get-TestAzurite).ConnectionString; AZURE_STORAGE_ACCOUNT = $null }
}

Describe 'Examples' {
    It '<Name> runs without error' -ForEach $examples {
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        $result = Invoke-FreshPwsh -WorkingDirectory $work.FullName -Environment $AzuriteEnvironment -Script "& '$Path' -ModuleRoot '$ModuleRoot'; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
    }

    It 'remote-store copies up to Azurite, saves, lists and restores there, and copies back bit-exact' {
        $result = Invoke-FreshPwsh -Environment $AzuriteEnvironment -Script "& '$(Join-Path $RepoRoot 'examples/remote-store.ps1')' -ModuleRoot '$ModuleRoot'; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $text = $result.Output -join "`n"
        $text | Should -Match 'Remote steps: 100, 200, 300'
        $text | Should -Match 'Restored position 300, epoch 6 from az://dataraxckpt-example-[0-9a-f]{12}/runs/run-1'
        $text | Should -Match 'Verified: True'
        $text | Should -Match 'Copied back bit-exact: True'
        $text | Should -Match 'As expected: DirectoryNotFound,DataraxCkpt.Commands.GetCheckpointCommand'
    }

    It 'quickstart restores what it saved and prints the guide flow' {
        $result = Invoke-FreshPwsh -Script "& '$(Join-Path $RepoRoot 'examples/quickstart.ps1')' -ModuleRoot '$ModuleRoot'"
        $text = $result.Output -join "`n"
        $text | Should -Match 'Restored position 42, epoch 5, weights 10x10'
        $text | Should -Match 'Checkpoints: 50, 60, 70, 80, 90'
        $text | Should -Match 'Step 1 after overwrite: v = 2'
        $text | Should -Match 'As expected: StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand'
    }

    It 'retention-job does a dry run, then logs each removed step as a JSON line' {
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        $result = Invoke-FreshPwsh -WorkingDirectory $work.FullName -Script "& '$(Join-Path $RepoRoot 'examples/retention-job.ps1')' -ModuleRoot '$ModuleRoot'; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $text = $result.Output -join "`n"
        $text | Should -Match 'Dry run: 5 steps would be removed'
        $text | Should -Match 'run-b: removed 1, kept 0, 50, 100, 200, 250, 300'
        $text | Should -Not -Match 'tensorboard'
        $log = @(Get-Content -LiteralPath (Join-Path $work.FullName 'retention.jsonl') | ForEach-Object { $_ | ConvertFrom-Json })
        $log.Count | Should -Be 5
        ($log.step | Sort-Object) | Should -Be @(50, 50, 150, 150, 150)
    }

    It 'retention-job survives one bad folder: the error is reported, the other runs are pruned, the exit code is 1' {
        Import-Module $ModuleManifest -Force
        $runs = Join-Path $TestDrive ('runs-' + [guid]::NewGuid().ToString('N'))
        foreach ($run in 'a', 'c') {
            foreach ($step in 0, 50, 100, 150) { @{ s = $step } | Save-Checkpoint (Join-Path $runs $run) -Step $step }
        }
        # 'b' claims to be a checkpoint directory, but its index is not a database.
        $bad = New-Item -ItemType Directory -Path (Join-Path $runs 'b')
        Set-Content -LiteralPath (Join-Path $bad.FullName 'index.sqlite') -Value ('not a database ' * 100)
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        $result = Invoke-FreshPwsh -WorkingDirectory $work.FullName -Script "& '$(Join-Path $RepoRoot 'examples/retention-job.ps1')' -ModuleRoot '$ModuleRoot' -RunsRoot '$runs' -Keep 1 -KeepEvery 100; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Be 1 -Because ($result.Output -join "`n")
        $text = $result.Output -join "`n"
        $text | Should -Match 'FAILED: .*b'
        $text | Should -Match 'a: removed 1, kept 0, 100, 150'
        $text | Should -Match 'c: removed 1, kept 0, 100, 150'
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(0, 100, 150)
        Get-CheckpointStep (Join-Path $runs 'c') | Should -Be @(0, 100, 150)
    }

    It 'retention-job -OlderThan 7 (no unit) is refused: exit code 1, nothing removed' {
        Import-Module $ModuleManifest -Force
        $runs = Join-Path $TestDrive ('runs-' + [guid]::NewGuid().ToString('N'))
        foreach ($step in 0, 50, 100, 150) { @{ s = $step } | Save-Checkpoint (Join-Path $runs 'a') -Step $step }
        $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
        $result = Invoke-FreshPwsh -WorkingDirectory $work.FullName -Script "& '$(Join-Path $RepoRoot 'examples/retention-job.ps1')' -ModuleRoot '$ModuleRoot' -RunsRoot '$runs' -Keep 1 -KeepEvery 1000 -OlderThan 7; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Not -Be 0 -Because ($result.Output -join "`n")
        ($result.Output -join "`n") | Should -Match 'New-TimeSpan -Days 7'
        Get-CheckpointStep (Join-Path $runs 'a') | Should -Be @(0, 50, 100, 150)
    }

    It 'retention-job -LockTimeout 120 is seconds, as for Remove-Checkpoint: it waits out a trainer holding the lock' {
        Import-Module $ModuleManifest -Force
        $runs = Join-Path $TestDrive ('runs-' + [guid]::NewGuid().ToString('N'))
        $dir = Join-Path $runs 'a'
        foreach ($step in 0, 50, 100, 150) { @{ s = $step } | Save-Checkpoint $dir -Step $step }
        # Another process holds the directory lock for a few seconds, as a trainer's save would.
        $holder = Start-Job -ScriptBlock {
            param($lock)
            $stream = [IO.FileStream]::new($lock, 'OpenOrCreate', 'ReadWrite', 'None')
            Start-Sleep -Seconds 25   # longer than the job takes to start and reach its real run
            $stream.Dispose()
        } -ArgumentList (Join-Path $dir '.lock')
        try {
            $deadline = [DateTime]::UtcNow.AddSeconds(60)
            while ([DateTime]::UtcNow -lt $deadline) {
                try { ([IO.FileStream]::new((Join-Path $dir '.lock'), 'OpenOrCreate', 'ReadWrite', 'None')).Dispose(); Start-Sleep -Milliseconds 100 }
                catch [IO.IOException] { break }
            }
            $work = New-Item -ItemType Directory -Path (Join-Path $TestDrive ([guid]::NewGuid().ToString('N')))
            $result = Invoke-FreshPwsh -WorkingDirectory $work.FullName -Script "& '$(Join-Path $RepoRoot 'examples/retention-job.ps1')' -ModuleRoot '$ModuleRoot' -RunsRoot '$runs' -Keep 1 -KeepEvery 100 -LockTimeout 120; exit `$LASTEXITCODE"
        }
        finally { $holder | Wait-Job | Remove-Job -Force }
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        Get-CheckpointStep $dir | Should -Be @(0, 100, 150)
    }

    It 'inspect shows items, differences and integrity' {
        $result = Invoke-FreshPwsh -Script "& '$(Join-Path $RepoRoot 'examples/inspect.ps1')' -ModuleRoot '$ModuleRoot'; exit `$LASTEXITCODE"
        $text = $result.Output -join "`n"
        $text | Should -Match 'params/linear/kernel'
        $text | Should -Match 'What changed from step 100 to step 200'
        $text | Should -Match 'Every step is intact.'
    }

    It 'inspect-training finds the first NaN step and its items, and draws the norm as a sparkline' {
        $result = Invoke-FreshPwsh -Script "& '$(Join-Path $RepoRoot 'examples/inspect-training.ps1')' -ModuleRoot '$ModuleRoot'; exit `$LASTEXITCODE"
        $result.ExitCode | Should -Be 0 -Because ($result.Output -join "`n")
        $text = $result.Output -join "`n"
        # The demo run: steps 10..100; step 90 holds one NaN in the kernel and one +Inf in the bias; 100 is all NaN.
        $text | Should -Match 'First non-finite step: 90\b'
        $text | Should -Match 'params/dense/kernel: 1 NaN, 0 \+Inf, 0 -Inf of 128'
        $text | Should -Match 'params/dense/bias: 0 NaN, 1 \+Inf, 0 -Inf of 8'
        $text | Should -Match 'Non-finite steps: 90, 100'
        $text | Should -Match 'Finite steps: 10, 20, 30, 40, 50, 60, 70, 80'
        $text | Should -Match 'Test-Checkpoint -Finite -Quiet: False'
        $text | Should -Match 'would keep: 60, 70, 80, 100'
        # Norms scale as 1, 1.1, 1.2, 1.35, 1.5, 1.8, 2.4, 4.0 (then NaN): blocks round((s-1)/3*7), × for NaN.
        $text | Should -Match 'params/dense/kernel L2 norm: ▁▁▁▂▂▃▄█××'
        $text | Should -Match 'What moved most from step 10 to step 80'
    }
}
