# Issue 13: docs/benchmarks.md's analysis has no typed figure. bench/run-all.ps1 renders bench/analysis.md
# with its placeholders filled from the run's targets, and explains only the targets the run missed, so
# the text cannot explain a miss that the figures above it contradict (as it once did for target (c)).

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    . (Join-Path $Repo 'bench/BenchAnalysis.ps1')
    $script:Analysis = Get-Content -Raw -LiteralPath (Join-Path $Repo 'bench/analysis.md')

    # A fabricated run of scenario (c) only, rendered by the real script without running anything.
    function script:Invoke-Render([bool] $SaveMet) {
        $results = Join-Path $TestDrive "results-$SaveMet"
        $null = New-Item -ItemType Directory -Force -Path $results
        $json = Join-Path $results 'c.json'
        @{
            Scenario = 'c'; Title = 'fabricated small leaves'; Repetitions = 3; Notes = @()
            Rows = @(@{ Name = 'DataraxCkpt save'; MedianSeconds = 0.5; MegabytesPerSecond = 30; StateBytes = 16000000; StoredBytes = 17000000; MaxPeakGrowthBytes = 1MB })
            Targets = @(
                @{ Goal = '(c) save ≥ 2× faster than numpy.savez'; Measured = $(if ($SaveMet) { '2.31× (fabricated met)' } else { '1.17× (fabricated miss)' }); Met = $SaveMet }
                @{ Goal = '(c) restore ≥ 2× faster than numpy.load'; Measured = '40.00× (fabricated)'; Met = $true }
                @{ Goal = '(c) a target nobody explained'; Measured = '7 (fabricated)'; Met = $false }
            )
        } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath $json
        @{ c = @{ Exit = 0; Seconds = 1; LoadBefore = '0 0 0'; LoadAfter = '0 0 0'; Json = $json } } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $results 'runs.json')
        $out = Join-Path $results 'benchmarks.md'
        $null = & (Join-Path $Repo 'bench/run-all.ps1') -RenderOnly -ResultsPath $results -Output $out 6>&1
        return Get-Content -Raw -LiteralPath $out
    }
}

Describe 'docs/benchmarks.md analysis' {
    It 'explains a missed target with the figure the run measured' {
        $doc = Invoke-Render -SaveMet $false
        $doc | Should -BeLike '*- **(c) save of 20,000 small leaves (1.17× (fabricated miss)).***'
        $doc | Should -BeLike '*- **(c) a target nobody explained** (7 (fabricated)): missed in this run; no explanation written yet.*'
        $doc | Should -BeLike '*(c) restore at 40.00× (fabricated)*'
        $doc | Should -Not -Match '\{\{'
    }

    It 'does not explain a target the run met' {
        $analysis = (Invoke-Render -SaveMet $true) -split [regex]::Escape($AnalysisMarker) | Select-Object -Last 1
        $analysis | Should -Not -BeLike '*(c) save of 20,000 small leaves*'
        $analysis | Should -Not -BeLike '*2.31×*'
        $analysis | Should -BeLike '*- **(c) a target nobody explained** (7 (fabricated))*'
        # Targets of scenarios that did not run are said to be unmeasured, never given a figure.
        $analysis | Should -BeLike '*(a) save at not measured in this run*'
    }

    It 'rendered again, names the date and commit of the run that measured, not of the render' {
        $results = Join-Path $TestDrive 'results-True'
        $null = New-Item -ItemType Directory -Force -Path $results
        @{ Date = '2020-01-02 03:04'; Commit = 'abc1234' } | ConvertTo-Json | Set-Content -LiteralPath (Join-Path $results 'run-info.json')
        $doc = Invoke-Render -SaveMet $true
        $doc | Should -BeLike '*- Date: 2020-01-02 03:04 UTC; commit abc1234*'
    }

    It 'rendered from results that do not record their run, says so instead of naming the current commit' {
        Remove-Item -LiteralPath (Join-Path $TestDrive 'results-False/run-info.json') -ErrorAction Ignore
        $doc = Invoke-Render -SaveMet $false
        $doc | Should -BeLike '*- Date: not recorded by this run; commit not recorded by this run*'
    }

    It 'refuses a placeholder it does not know' {
        { Format-Analysis "text {{targte:(c) save}}" @() } | Should -Throw '*placeholder this script does not know: {{targte:(c) save}}*'
    }

    It 'committed: is exactly bench/analysis.md rendered from the targets the doc states above it' {
        $doc = (Get-Content -Raw -LiteralPath (Join-Path $Repo 'docs/benchmarks.md')) -replace "`r`n", "`n"
        $parts = $doc -split [regex]::Escape($AnalysisMarker)
        $parts.Count | Should -Be 2 -Because 'the doc has one rendered analysis, after the marker'
        $targets = @(Read-BenchTargets $doc)
        $targets.Count | Should -BeGreaterThan 10
        $parts[1].Trim() | Should -BeExactly (Format-Analysis $Analysis $targets).Trim()
    }
}
