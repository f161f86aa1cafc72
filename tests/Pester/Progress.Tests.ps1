# Issue 3, presentation: Write-Progress on saves and restores that take over a second, completed at the end.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Progress' {
    It 'shows no progress for quick operations' {
        $dir = Join-Path $TestDrive 'quick'
        $run = Invoke-WithProgress { param($d) @{ w = [float[]]::new(1000) } | Save-Checkpoint $d -Step 1; $null = Restore-Checkpoint $d } @($dir)
        @($run.Progress | Where-Object ActivityId -ne 0) | Should -BeNullOrEmpty
    }

    It 'reports a restore that takes over a second and completes the bar at the end' {
        $dir = Join-Path $TestDrive 'large'
        $run = Invoke-WithProgress {
            param($d)
            # About 1.9 GB of incompressible bytes: restoring them into fresh memory takes seconds here.
            $bytes = [byte[]]::new(1900000000)
            [Random]::new(7).NextBytes($bytes)
            @{ blob = $bytes } | Save-Checkpoint $d -Step 1
            $bytes = $null
            [GC]::Collect()
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $restored = Restore-Checkpoint $d
            $sw.Elapsed.TotalSeconds
            $restored.blob.Length
        } @($dir)
        $seconds, $length = $run.Output
        $length | Should -Be 1900000000
        $restoreRecords = @($run.Progress | Where-Object Activity -like 'Restore checkpoint step 1*')
        if ($seconds -lt 1.2) {
            # A skip, counted and listed by build.ps1 (allowed in tests/test-floor.json), never a pass.
            Set-ItResult -Skipped -Because "the restore took only $seconds s on this machine, too quick to show progress"
            return
        }
        @($restoreRecords | Where-Object RecordType -eq 'Processing').Count | Should -BeGreaterThan 0
        $restoreRecords[-1].RecordType | Should -Be 'Completed'
        $restoreRecords[-1].StatusDescription | Should -Match '1,900,000,000 bytes'
        ($restoreRecords | Where-Object RecordType -eq 'Processing' | ForEach-Object PercentComplete | Sort-Object -Descending | Select-Object -First 1) |
            Should -BeGreaterThan 0
    }
}
