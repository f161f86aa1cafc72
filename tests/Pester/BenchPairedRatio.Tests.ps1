# Session 12 (issue 17's bench method): cheap ratio targets flipped between runs with the code unchanged ((a) restore
# per repetition 0.274, 0.494, 0.204 s; (i) statistics vs restore 0.46×, 1.18×, 0.48× in three runs). They are now
# judged on the median of per-pair ratios of runs adjacent in time, with the spread printed, and a run waits for a
# quiet machine first. bench/PairedRatio.ps1 is scenario (e)'s copy of bench/DataraxCkpt.Bench/PairedRatio.cs, held
# here to the figures tests/Unit/Bench/PairedRatioTests.cs holds the C# one to.

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    . (Join-Path $Repo 'bench/PairedRatio.ps1')
    . (Join-Path $Repo 'bench/BenchQuiet.ps1')
    . (Join-Path $Repo 'bench/BenchAnalysis.ps1')

    # A fabricated module result ((e) restores only), rendered by the real script without running anything.
    function script:Invoke-RenderModule([hashtable] $Restore, $RunInfo) {
        $results = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Force -Path $results
        '{}' | Set-Content -LiteralPath (Join-Path $results 'runs.json')
        if ($RunInfo) { $RunInfo | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $results 'run-info.json') }
        @{ Module = 'fabricated'; Repetitions = 5; Steps = 10; ImportSeconds = 0.2; GetCheckpointSeconds = 0.01; States = $null; Restores = @($Restore) } |
            ConvertTo-Json -Depth 6 | Set-Content -LiteralPath (Join-Path $results 'e.json')
        Invoke-Render $results
    }

    # A fabricated scenario result (3 repetitions, 11 measured pairs, these rows, no targets), rendered the same way.
    function script:Invoke-RenderScenario([string] $Scenario, [hashtable[]] $Rows, [string[]] $Notes = @()) {
        $results = Join-Path $TestDrive "scenario-$Scenario"
        $null = New-Item -ItemType Directory -Force -Path $results
        $json = Join-Path $results "$Scenario.json"
        @{ Scenario = $Scenario; Title = 'fabricated'; Repetitions = 3; Pairs = 11; Notes = @($Notes); Rows = $Rows; Targets = @() } |
            ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $json
        @{ $Scenario = @{ Exit = 0; Seconds = 1; LoadBefore = '0 0 0'; LoadAfter = '0 0 0'; Json = $json } } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $results 'runs.json')
        Invoke-Render $results
    }

    # Renders the results in $Results with the real script (-RenderOnly: nothing runs); returns benchmarks.md.
    # (g)'s figures go into a copy of docs/object-store.md in $Results, never into the repository's page.
    function script:Invoke-Render([string] $Results) {
        $out = Join-Path $Results 'benchmarks.md'
        $objectStore = Join-Path $Results 'object-store.md'
        Copy-Item -LiteralPath (Join-Path $Repo 'docs/object-store.md') -Destination $objectStore
        $null = & (Join-Path $Repo 'bench/run-all.ps1') -RenderOnly -ResultsPath $Results -Output $out -AnalysisPath (Join-Path $Results 'none.md') -ObjectStorePath $objectStore 6>&1
        Get-Content -Raw -LiteralPath $out
    }
}

Describe 'the paired ratio (bench/PairedRatio.ps1)' {
    It 'gives baseline time over engine time per pair, with the median and quartiles interpolated between ranks' {
        $p = Get-PairedRatio ([double[]](1, 2, 4, 1, 1)) ([double[]](2, 2, 2, 3, 0.5))
        $p.Ratios | Should -Be @(2, 1, 0.5, 3, 0.5)
        $p.Count | Should -Be 5
        $p.Median | Should -Be 1
        $p.LowerQuartile | Should -Be 0.5
        $p.UpperQuartile | Should -Be 2
        $p.Min | Should -Be 0.5
        $p.Max | Should -Be 3
        Format-PairedRatio $p | Should -BeExactly '1.00× median of 5 paired ratios (IQR 0.50–2.00, range 0.50–3.00)'
    }

    It 'takes the mean of the two middle ratios for an even number of pairs' {
        $p = Get-PairedRatio ([double[]](1, 1, 1, 1)) ([double[]](4, 1, 3, 2))
        $p.Median | Should -Be 2.5
        $p.LowerQuartile | Should -Be 1.75
        $p.UpperQuartile | Should -Be 3.25
    }

    It 'gives nothing for a time that is zero, negative or not finite (found by the attack on the bench method)' {
        # A zero engine time would read as an infinitely fast engine and sort as the best pair.
        Get-PairedRatio ([double[]](0, 0, 1)) ([double[]](1, 1, 0.5)) | Should -BeNullOrEmpty
        Get-PairedRatio ([double[]](1, 1, 1)) ([double[]](1, [double]::NaN, 1)) | Should -BeNullOrEmpty
        Get-PairedRatio ([double[]](1, [double]::PositiveInfinity, 1)) ([double[]](1, 1, 1)) | Should -BeNullOrEmpty
        Get-PairedRatio ([double[]](1, 1, 1)) ([double[]](1, -1, 1)) | Should -BeNullOrEmpty
    }

    It 'refuses times that do not pair up and gives nothing for no pairs' {
        { Get-PairedRatio ([double[]](1, 2)) ([double[]](1)) } | Should -Throw '*the pairs do not match*'
        Get-PairedRatio ([double[]]@()) ([double[]]@()) | Should -BeNullOrEmpty
    }
}

Describe 'waiting for a quiet machine (bench/BenchQuiet.ps1)' {
    It 'waits until the 1-minute load average is below the threshold and reports the loads' {
        $script:loads = [Collections.Generic.Queue[string]]::new([string[]]@('3.10 2.00 14.00', '2.00 1.90 13.00', '1.20 1.80 12.00', '0.50 1.00 11.00'))
        $script:slept = 0
        $q = Wait-BenchQuiet -Threshold 1.5 -TimeoutSeconds 300 -IntervalSeconds 5 -Read { $script:loads.Dequeue() } -Sleep { param($s) $script:slept += $s } 6>$null
        $q.Reached | Should -BeTrue
        $q.WaitedSeconds | Should -Be 10
        $script:slept | Should -Be 10
        $q.LoadAtStart | Should -BeExactly '3.10 2.00 14.00'
        $q.LoadAtEnd | Should -BeExactly '1.20 1.80 12.00'
    }

    It 'gives up after the timeout and says the quiet was not reached' {
        $script:slept = 0
        $q = Wait-BenchQuiet -Threshold 1.5 -TimeoutSeconds 20 -IntervalSeconds 5 -Read { '4.00 4.00 4.00' } -Sleep { param($s) $script:slept += $s } 6>$null
        $q.Reached | Should -BeFalse
        $q.WaitedSeconds | Should -Be 20
        $script:slept | Should -Be 20
    }

    It 'takes a load average equal to the threshold as not quiet (below, as the header says)' {
        $q = Wait-BenchQuiet -Threshold 1.5 -TimeoutSeconds 5 -IntervalSeconds 5 -Read { '1.50 1.00 1.00' } -Sleep { param($s) } 6>$null
        $q.Reached | Should -BeFalse
    }

    It 'does not wait on a quiet machine, nor when no wait is asked' {
        $script:slept = 0
        (Wait-BenchQuiet -Threshold 1.5 -TimeoutSeconds 300 -Read { '0.40 0.30 0.20' } -Sleep { param($s) $script:slept += $s }).Reached | Should -BeTrue
        (Wait-BenchQuiet -Threshold 1.5 -TimeoutSeconds 0 -Read { '9.00 9.00 9.00' } -Sleep { param($s) $script:slept += $s }).WaitedSeconds | Should -Be 0
        $script:slept | Should -Be 0
    }
}

Describe 'bench/run-all.ps1 renders paired ratio targets and the run''s conditions' {
    It 'judges the module restores on the median of the per-pair ratios, where the ratio of the row medians would say otherwise' {
        # Per pair: 0.90, 0.90, 0.50 (median 0.90, met); row medians 2.0 s against 1.0 s (0.50, a miss).
        $doc = Invoke-RenderModule @{ MiB = 256; Pairs = 3; Restore = @(1.0, 2.0, 2.0); Raw = @(0.9, 1.8, 1.0); RestoreInto = @(1.0, 1.0, 1.0); RawInto = @(0.8, 0.85, 0.95); First = @{ Restore = 0.5; Raw = 0.4; RestoreInto = 0.3; RawInto = 0.2 } }
        $doc | Should -BeLike '*- **MET** (e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays (256 MiB): 0.90× median of 3 paired ratios (IQR 0.70–0.90, range 0.50–0.90); row medians 2000 vs 1000 ms*'
        $doc | Should -BeLike '*- **MISSED** (e) Restore-Checkpoint -Into ≥ 0.9× a compiled raw read into preallocated arrays (256 MiB): 0.85× median of 3 paired ratios (IQR 0.82–0.90, range 0.80–0.95); row medians 1000 vs 850 ms*'
        $doc | Should -BeLike '*- note: restores at 256 MiB: 3 measured pairs per comparison*after one unmeasured pair (s): Restore-Checkpoint 0.500, raw read into new arrays 0.400*'
        # The analysis reads the target lines back: the measured part must hold no colon.
        $targets = @(Read-BenchTargets $doc)
        ($targets | Where-Object { $_.Goal -like '*new arrays (256 MiB)' }).Measured | Should -BeLike '0.90× median of 3 paired ratios*'
    }

    It 'says the pairs into new arrays ran back to back only for results whose restore script ran them so (session 28)' {
        $times = @{ MiB = 256; Pairs = 3; Restore = @(1.0, 1.0, 1.0); Raw = @(0.9, 0.9, 0.9); RestoreInto = @(1.0, 1.0, 1.0); RawInto = @(0.9, 0.9, 0.9); First = @{ Restore = 0.5; Raw = 0.4; RestoreInto = 0.3; RawInto = 0.2 } }
        $before = Invoke-RenderModule $times
        $before | Should -BeLike '*- note: restores at 256 MiB: 3 measured pairs per comparison (the cmdlet first in every other pair), after one unmeasured pair (s):*'
        $times.NewArraysPairsFirst = $true
        $after = Invoke-RenderModule $times
        $after | Should -BeLike '*- note: restores at 256 MiB: 3 measured pairs per comparison (the cmdlet first in every other pair; the pairs into new arrays back to back, then the pairs into preallocated arrays, and the unmeasured raw read into new arrays after the unmeasured pair into preallocated arrays), after one unmeasured pair (s): Restore-Checkpoint 0.500, raw read into new arrays 0.400*'
    }

    It 'Attack28b notes the one more unmeasured Restore-Checkpoint only for results that ran it' {
        $times = @{ MiB = 256; Pairs = 3; NewArraysPairsFirst = $true; Restore = @(1.0, 1.0, 1.0); Raw = @(0.9, 0.9, 0.9); RestoreInto = @(1.0, 1.0, 1.0); RawInto = @(0.9, 0.9, 0.9); First = @{ Restore = 0.5; Raw = 0.4; RestoreInto = 0.3; RawInto = 0.2 } }
        Invoke-RenderModule $times | Should -Not -BeLike '*one more unmeasured Restore-Checkpoint*'
        $times.First.RestoreAgain = 0.125
        Invoke-RenderModule $times | Should -BeLike '*raw read into preallocated arrays 0.200; then one more unmeasured Restore-Checkpoint 0.125*'
    }

    It 'still renders results of earlier runs, which held one median per side, as the ratio of the medians' {
        $doc = Invoke-RenderModule @{ MiB = 1024; Raw = 0.278; Restore = 0.207; RawInto = 0.221; RestoreInto = 0.220 }
        $doc | Should -BeLike '*- **MET** (e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays (1024 MiB): 1.34× (207 vs 278 ms)*'
    }

    It 'does not judge a module restore comparison without measured pairs or with a zero time (found by the attack on the bench method)' {
        $doc = Invoke-RenderModule @{ MiB = 256; Pairs = 0; Restore = @(); Raw = @(); RestoreInto = @(); RawInto = @(); First = @{ Restore = 0.5; Raw = 0.4; RestoreInto = 0.3; RawInto = 0.2 } }
        $doc | Should -BeLike '*- **NOT JUDGED** (e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays (256 MiB): not judged, no measured pairs*'
        $doc | Should -Not -BeLike '*MISSED** (e) Restore-Checkpoint*'
        # The analysis reads the line back whole: no colon in the measured part.
        $read = @(Read-BenchTargets $doc) | Where-Object { $_.Goal -eq '(e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays (256 MiB)' }
        $read.Measured | Should -BeLike 'not judged, no measured pairs*'
        $read.Met | Should -BeNullOrEmpty
        $doc = Invoke-RenderModule @{ MiB = 256; Pairs = 3; Restore = @(0.0, 0.0, 1.0); Raw = @(1.0, 1.0, 0.5); RestoreInto = @(1.0, 1.0, 1.0); RawInto = @(1.0, 1.0, 1.0); First = @{ Restore = 0.5; Raw = 0.4; RestoreInto = 0.3; RawInto = 0.2 } }
        $doc | Should -BeLike '*- **NOT JUDGED** (e) Restore-Checkpoint ≥ 0.85× a compiled raw read into new arrays (256 MiB): not judged, a time that is not a positive finite number*'
        $doc | Should -BeLike '*- **MET** (e) Restore-Checkpoint -Into ≥ 0.9× a compiled raw read into preallocated arrays (256 MiB): 1.00× median of 3 paired ratios*'
    }

    It 'does not claim paired judging in the header when it renders results of earlier runs (found by the attack on the bench method)' {
        $doc = Invoke-RenderModule @{ MiB = 1024; Raw = 0.278; Restore = 0.207; RawInto = 0.221; RestoreInto = 0.220 }
        $doc | Should -Not -BeLike '*median of the per-pair ratios*'
        $doc | Should -BeLike '*- How ratio targets are judged: on the ratio of the two rows'' medians (these results predate paired measurement*'
    }

    It 'says in the header how ratios are judged and whether the machine was quiet' {
        $info = @{ Date = '2026-12-02 05:00'; Commit = 'abc1234'; Quiet = @{ Reached = $false; WaitedSeconds = 300; Threshold = 1.5; TimeoutSeconds = 300; IntervalSeconds = 5; LoadAtStart = '3.10 2.00 14.00'; LoadAtEnd = '2.20 2.10 12.00' } }
        $doc = Invoke-RenderModule @{ MiB = 1024; Pairs = 1; Raw = @(0.278); Restore = @(0.207); RawInto = @(0.221); RestoreInto = @(0.220); First = @{ Restore = 0.5; Raw = 0.4; RestoreInto = 0.3; RawInto = 0.2 } } $info
        $doc | Should -BeLike '*- How ratio targets are judged:*median of the per-pair ratios*'
        $doc | Should -BeLike '*- Machine load before the run: quiet NOT reached within 300 s; the run went ahead (wait until the 1-minute load average is below 1.5, checked every 5 s); load averages (1, 5, 15 min) 3.10 2.00 14.00 when the wait began, 2.20 2.10 12.00 when the first scenario started.*'
        $info.Quiet.Reached = $true; $info.Quiet.WaitedSeconds = 45
        Invoke-RenderModule @{ MiB = 1024; Raw = 0.278; Restore = 0.207; RawInto = 0.221; RestoreInto = 0.220 } $info | Should -BeLike '*- Machine load before the run: quiet reached after 45 s (wait*'
        Invoke-RenderModule @{ MiB = 1024; Raw = 0.278; Restore = 0.207; RawInto = 0.221; RestoreInto = 0.220 } | Should -BeLike '*- Machine load before the run: not recorded by this run*'
    }

    It 'says in a scenario''s line how many measured pairs its paired rows hold' {
        $doc = Invoke-RenderScenario 'a' @(
            @{ Name = 'raw read into new arrays'; MedianSeconds = 0.3; MegabytesPerSecond = 3000; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 1GB }
            @{ Name = 'DataraxCkpt restore'; MedianSeconds = 0.2; MegabytesPerSecond = 5000; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 1GB }
            @{ Name = 'raw read into preallocated buffer'; MedianSeconds = 0.2; MegabytesPerSecond = 5000; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'DataraxCkpt restore into existing arrays'; MedianSeconds = 0.25; MegabytesPerSecond = 4000; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
        )
        $doc | Should -BeLike '*Median of 3 repetitions (saves and external baselines); the restore rows: medians of 11 measured pairs; run took*'
        # Each baseline row's "engine vs this" is against the engine row it is held to (was: the last restore row for all).
        $doc | Should -BeLike '*| raw read into new arrays | 300.0 ms | 3000 | 1.50× |*'
        $doc | Should -BeLike '*| raw read into preallocated buffer | 200.0 ms | 5000 | 0.80× |*'
    }

    It 'says in (g)''s line and the object-store block that the restore and download rows are paired too (session 21)' {
        $doc = Invoke-RenderScenario 'g' @(
            @{ Name = 'DataraxCkpt save'; MedianSeconds = 7.0; MegabytesPerSecond = 150; StateBytes = 1GB; StoredBytes = 1GB; MaxPeakGrowthBytes = 0 }
            @{ Name = 'SDK BlobClient.UploadAsync (one blob)'; MedianSeconds = 6.5; MegabytesPerSecond = 160; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'DataraxCkpt restore'; MedianSeconds = 2.7; MegabytesPerSecond = 390; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'SDK BlobClient.DownloadToAsync (one blob, new buffer)'; MedianSeconds = 2.4; MegabytesPerSecond = 450; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
        ) -Notes 'save and restore: 11 measured pairs each (engine save, SDK upload; then engine restore, SDK download of what they wrote; the SDK first in every other pair)'
        $doc | Should -BeLike '*Median of 3 repetitions (listing); the save, upload, restore and download rows: medians of 11 measured pairs; run took*'
        $doc | Should -Not -BeLike '*Median of 3 repetitions (restore and download)*'
        $block = Get-Content -Raw -LiteralPath (Join-Path $TestDrive 'scenario-g/object-store.md')
        $block | Should -BeLike '*fabricated, save, upload, restore and download: medians of 11 measured pairs; the full table*'
        $block | Should -Not -BeLike '*restore and download: median of 3*'
    }

    It 'Attack27 leaves the repository''s docs/object-store.md alone when a render goes to another -Output without -ObjectStorePath' {
        $results = Join-Path $TestDrive 'scenario-g-elsewhere'
        $null = New-Item -ItemType Directory -Force -Path $results
        $json = Join-Path $results 'g.json'
        @{ Scenario = 'g'; Title = 'fabricated'; Repetitions = 3; Pairs = 5; Notes = @(); Targets = @()
            Rows = @(@{ Name = 'DataraxCkpt save'; MedianSeconds = 7.0; MegabytesPerSecond = 150; StateBytes = 1GB; StoredBytes = 1GB; MaxPeakGrowthBytes = 0 }) } |
            ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $json
        @{ g = @{ Exit = 0; Seconds = 1; LoadBefore = '0 0 0'; LoadAfter = '0 0 0'; Json = $json } } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $results 'runs.json')
        $page = Join-Path $Repo 'docs/object-store.md'
        $before = (Get-FileHash -LiteralPath $page).Hash

        $null = & (Join-Path $Repo 'bench/run-all.ps1') -RenderOnly -ResultsPath $results -Output (Join-Path $results 'benchmarks.md') -AnalysisPath (Join-Path $results 'none.md') 6>&1

        (Get-FileHash -LiteralPath $page).Hash | Should -Be $before
        Get-Content -Raw -LiteralPath (Join-Path $results 'benchmarks.md') | Should -BeLike '*fabricated*'
    }

    It 'does not say in the header that (g)''s targets take the ratio of row medians when its save and restore are paired (attack, session 21)' {
        # The header's "How ratio targets are judged" listed "the remote scenario" among the expensive rows judged on
        # the ratio of the two rows' medians, while both (g) target lines below it give the median of per-pair ratios.
        $doc = Invoke-RenderScenario 'g' @(
            @{ Name = 'DataraxCkpt save'; MedianSeconds = 7.0; MegabytesPerSecond = 150; StateBytes = 1GB; StoredBytes = 1GB; MaxPeakGrowthBytes = 0 }
            @{ Name = 'SDK BlobClient.UploadAsync (one blob)'; MedianSeconds = 6.5; MegabytesPerSecond = 160; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'DataraxCkpt restore'; MedianSeconds = 2.7; MegabytesPerSecond = 390; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'SDK BlobClient.DownloadToAsync (one blob, new buffer)'; MedianSeconds = 2.4; MegabytesPerSecond = 450; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
        ) -Notes 'save and restore: 11 measured pairs each (engine save, SDK upload; then engine restore, SDK download of what they wrote; the SDK first in every other pair)'
        $header = @($doc -split '\r?\n' | Where-Object { $_ -like '- How ratio targets are judged:*' })
        $header.Count | Should -Be 1
        $header[0] | Should -Not -BeLike '*the remote scenario) keep a few repetitions and their targets the ratio*'
        $header[0] | Should -Not -BeLike '*remote restore) keep a few repetitions*'
        $header[0] | Should -BeLike '*(g)*remote save and restore*pairs*'
    }

    It 'says in the header of a (g) result from session 20 that its remote save is paired and its restore is the ratio of medians (attack, session 21)' {
        $doc = Invoke-RenderScenario 'g' @(
            @{ Name = 'DataraxCkpt save'; MedianSeconds = 7.0; MegabytesPerSecond = 150; StateBytes = 1GB; StoredBytes = 1GB; MaxPeakGrowthBytes = 0 }
            @{ Name = 'SDK BlobClient.UploadAsync (one blob)'; MedianSeconds = 6.5; MegabytesPerSecond = 160; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
        ) -Notes 'save: 11 measured pairs (engine save, SDK upload; the SDK first in every other pair)'
        $header = @($doc -split '\r?\n' | Where-Object { $_ -like '- How ratio targets are judged:*' })
        $header[0] | Should -BeLike '*the remote restore) keep a few repetitions and their targets the ratio*'
        $header[0] | Should -BeLike '*(g)*remote save*pairs*'
    }

    It 'says in the line of a (g) result from before session 21 that its paired rows are the save and the upload, not the restore' {
        $doc = Invoke-RenderScenario 'g' @(
            @{ Name = 'DataraxCkpt save'; MedianSeconds = 7.0; MegabytesPerSecond = 150; StateBytes = 1GB; StoredBytes = 1GB; MaxPeakGrowthBytes = 0 }
            @{ Name = 'SDK BlobClient.UploadAsync (one blob)'; MedianSeconds = 6.5; MegabytesPerSecond = 160; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
        )
        $doc | Should -BeLike '*Median of 3 repetitions (restore and download); the save and upload rows: medians of 11 measured pairs; run took*'
        $doc | Should -Not -BeLike '*the restore rows: medians of*'
        Get-Content -Raw -LiteralPath (Join-Path $TestDrive 'scenario-g/object-store.md') |
            Should -BeLike '*fabricated, save and upload: medians of 11 measured pairs; restore and download: median of 3; the full table*'
    }

    It 'holds (i)''s numpy rows in "engine vs this" to the inspection they compare with, not to a restore (found by the attack on the bench method)' {
        $doc = Invoke-RenderScenario 'i' @(
            @{ Name = 'DataraxCkpt restore of the same step'; MedianSeconds = 0.2; MegabytesPerSecond = 5000; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'DataraxCkpt statistics'; MedianSeconds = 0.4; MegabytesPerSecond = 2500; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'DataraxCkpt restore of both steps'; MedianSeconds = 0.6; MegabytesPerSecond = 3300; StateBytes = 2GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'DataraxCkpt numeric diff'; MedianSeconds = 0.5; MegabytesPerSecond = 4000; StateBytes = 2GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'numpy statistics on restored arrays'; MedianSeconds = 7.5; MegabytesPerSecond = 143; StateBytes = 1GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
            @{ Name = 'numpy numeric diff on restored arrays'; MedianSeconds = 5.0; MegabytesPerSecond = 400; StateBytes = 2GB; StoredBytes = $null; MaxPeakGrowthBytes = 0 }
        )
        $doc | Should -BeLike '*| numpy statistics on restored arrays | 7500.0 ms | 143 | 18.75× |*'
        $doc | Should -BeLike '*| numpy numeric diff on restored arrays | 5000.0 ms | 400 | 10.00× |*'
    }
}
