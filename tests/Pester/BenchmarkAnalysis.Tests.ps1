# Issue 13: docs/benchmarks.md's analysis has no typed figure. bench/run-all.ps1 renders bench/analysis.md
# with its placeholders filled from the run's targets, and explains only the targets the run missed, so
# the text cannot explain a miss that the figures above it contradict (as it once did for target (c)).

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    . (Join-Path $Repo 'bench/BenchAnalysis.ps1')
    . (Join-Path $Repo 'bench/BenchRunRecord.ps1')
    . (Join-Path $Repo 'bench/BenchFlush.ps1')
    $script:Analysis = Get-Content -Raw -LiteralPath (Join-Path $Repo 'bench/analysis.md')

    # A fabricated run of scenario (c) only, rendered by the real script without running anything.
    # $Flush: the record of the flush run-all.ps1 made before the scenario (omitted: results of a run before session 16).
    function script:Invoke-Render([bool] $SaveMet, $Flush) {
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
        $run = @{ Exit = 0; Seconds = 1; LoadBefore = '0 0 0'; LoadAfter = '0 0 0'; Json = $json }
        if ($Flush) { $run.Flush = $Flush }
        @{ c = $run } | ConvertTo-Json -Depth 5 | Set-Content -LiteralPath (Join-Path $results 'runs.json')
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

# run-all.ps1 wrote run-info.json before the scenarios ran: an interrupted run followed by -RenderOnly labelled the
# previous run's figures with the new commit. And its dirty-tree check ignored untracked files.
Describe 'the bench run record (run-info.json)' {
    It 'is removed by run-all.ps1 before any scenario runs and written with runs.json after every scenario and the module bench' {
        $ast = [Management.Automation.Language.Parser]::ParseFile((Join-Path $Repo 'bench/run-all.ps1'), [ref] $null, [ref] $null)
        $commands = $ast.FindAll({ param($n) $n -is [Management.Automation.Language.CommandAst] }, $true)
        $at = { param([string] $Name) @($commands | Where-Object { $_.GetCommandName() -eq $Name } | ForEach-Object { $_.Extent.StartOffset }) }
        $clear = & $at 'Clear-BenchRunRecord'
        $write = & $at 'Write-BenchRunRecord'
        $clear.Count | Should -Be 1
        $write.Count | Should -Be 1
        $scenarioLoop = $ast.Find({ param($n) $n -is [Management.Automation.Language.ForEachStatementAst] -and $n.Condition.Extent.Text -eq '$Scenarios' }, $true)
        $scenarioLoop | Should -Not -BeNullOrEmpty
        $clear[0] | Should -BeLessThan $scenarioLoop.Extent.StartOffset
        $write[0] | Should -BeGreaterThan $scenarioLoop.Extent.EndOffset
        $moduleBench = $commands | Where-Object { $_.Extent.Text -like "*module-bench.ps1*" } | Select-Object -First 1
        $write[0] | Should -BeGreaterThan $moduleBench.Extent.EndOffset
        # Nothing else writes the record or runs.json.
        $ast.Extent.Text | Should -Not -Match 'Set-Content[^\r\n]*(runInfoFile|runsFile)'
    }

    It 'after an interrupted run (record cleared, no new one written), renders as not recorded instead of naming the new commit' {
        $results = Join-Path $TestDrive 'results-False'
        $null = Invoke-Render -SaveMet $false
        Write-BenchRunRecord $results ([ordered]@{ c = (Get-Content -Raw (Join-Path $results 'runs.json') | ConvertFrom-Json).c }) ([pscustomobject]@{ Date = '2021-05-06 07:08'; Commit = 'old1234' })
        $null = & (Join-Path $Repo 'bench/run-all.ps1') -RenderOnly -ResultsPath $results -Output (Join-Path $results 'b1.md') 6>&1
        Get-Content -Raw (Join-Path $results 'b1.md') | Should -BeLike '*- Date: 2021-05-06 07:08 UTC; commit old1234*'
        Clear-BenchRunRecord $results
        $null = & (Join-Path $Repo 'bench/run-all.ps1') -RenderOnly -ResultsPath $results -Output (Join-Path $results 'b2.md') 6>&1
        Get-Content -Raw (Join-Path $results 'b2.md') | Should -BeLike '*- Date: not recorded by this run; commit not recorded by this run*'
    }

    It 'marks the commit with uncommitted changes and with untracked files, each named' {
        $repo = Join-Path $TestDrive 'repo'
        $null = New-Item -ItemType Directory -Path $repo
        & git -C $repo init -q
        Set-Content -LiteralPath (Join-Path $repo 'a.txt') -Value 'a'
        Set-Content -LiteralPath (Join-Path $repo '.gitignore') -Value 'out/'
        & git -C $repo add a.txt .gitignore
        & git -C $repo -c user.name=bench -c user.email=bench@example.invalid commit -q -m first
        $head = (& git -C $repo rev-parse --short HEAD)
        (Get-BenchRunInfo $repo).Commit | Should -BeExactly $head
        $null = New-Item -ItemType Directory -Path (Join-Path $repo 'out')
        Set-Content -LiteralPath (Join-Path $repo 'out/ignored.txt') -Value 'x'
        (Get-BenchRunInfo $repo).Commit | Should -BeExactly $head -Because 'ignored files are not part of the build'
        Set-Content -LiteralPath (Join-Path $repo 'new.cs') -Value 'new'
        (Get-BenchRunInfo $repo).Commit | Should -BeExactly "$head with 1 untracked file"
        Set-Content -LiteralPath (Join-Path $repo 'a.txt') -Value 'changed'
        (Get-BenchRunInfo $repo).Commit | Should -BeExactly "$head with uncommitted changes and 1 untracked file"
        (Get-BenchRunInfo $repo).Date | Should -Match '^\d{4}-\d\d-\d\d \d\d:\d\d$'
    }
}

# Scenarios (a) and (b) write GiBs; (c)'s fsynced saves, run next, waited behind their writeback (one idle run: (c) at a
# third of the ratio the same build reached alone right after). run-all.ps1 flushes the file systems before each
# scenario, after the previous one's process has exited and deleted its files, and the report says so.
Describe 'flushing the writeback between bench scenarios' {
    It 'run-all.ps1 flushes before starting each scenario''s process, and before the module bench' {
        $ast = [Management.Automation.Language.Parser]::ParseFile((Join-Path $Repo 'bench/run-all.ps1'), [ref] $null, [ref] $null)
        $scenarioLoop = $ast.Find({ param($n) $n -is [Management.Automation.Language.ForEachStatementAst] -and $n.Condition.Extent.Text -eq '$Scenarios' }, $true)
        $inLoop = $scenarioLoop.Body.FindAll({ param($n) $n -is [Management.Automation.Language.CommandAst] }, $true)
        $flush = @($inLoop | Where-Object { $_.GetCommandName() -eq 'Invoke-BenchFlush' })
        $scenario = @($inLoop | Where-Object { $_.GetCommandName() -eq 'dotnet' })
        $flush.Count | Should -Be 1
        $scenario.Count | Should -Be 1
        $flush[0].Extent.StartOffset | Should -BeLessThan $scenario[0].Extent.StartOffset
        # The flush's record goes into the scenario's run record, which the report renders.
        $scenarioLoop.Body.Extent.Text | Should -Match 'Flush = \$flush'
        $all = $ast.FindAll({ param($n) $n -is [Management.Automation.Language.CommandAst] }, $true)
        $moduleBench = $all | Where-Object { $_.Extent.Text -like '*module-bench.ps1*' } | Select-Object -First 1
        $beforeModule = @($all | Where-Object { $_.GetCommandName() -eq 'Invoke-BenchFlush' -and $_.Extent.StartOffset -gt $scenarioLoop.Extent.EndOffset -and $_.Extent.StartOffset -lt $moduleBench.Extent.StartOffset })
        $beforeModule.Count | Should -Be 1
    }

    It 'says in the header and on the scenario''s line that the file systems were flushed before it, and how long that took' {
        $doc = Invoke-Render -SaveMet $true -Flush @{ Flushed = $true; Seconds = 2.24; Problem = $null }
        $doc | Should -BeLike '*- Writeback between scenarios: before each scenario, once the previous scenario''s process had exited and deleted its files, the run flushed the file systems (*sync*, which on Linux returns once dirty data is written)*'
        $doc | Should -BeLike '*load average 0 0 0 before, 0 0 0 after; file systems flushed (sync) before it in 2.2 s.*'
    }

    It 'says a failed flush was not one' {
        $flush = Invoke-BenchFlush -Sync { 1 }
        $flush.Flushed | Should -BeFalse
        $doc = Invoke-Render -SaveMet $true -Flush $flush
        $doc | Should -BeLike '*; file systems NOT flushed before it (sync exited with code 1).*'
        (Invoke-BenchFlush -Sync $null).Problem | Should -Be 'no sync command on this OS'
    }

    It 'does not claim in the header that the run flushed when no flush succeeded (no sync command, or sync failed)' {
        $doc = Invoke-Render -SaveMet $true -Flush (Invoke-BenchFlush -Sync $null)
        $doc | Should -BeLike '*; file systems NOT flushed before it (no sync command on this OS).*'
        $doc | Should -Not -BeLike '*the run flushed the file systems*'
        $doc = Invoke-Render -SaveMet $true -Flush (Invoke-BenchFlush -Sync { 1 })
        $doc | Should -Not -BeLike '*the run flushed the file systems*'
    }

    It 'rendered from results of a run that did not flush, says the scenarios were not isolated' {
        $doc = Invoke-Render -SaveMet $true
        $doc | Should -BeLike '*- Writeback between scenarios: not flushed by this run*'
        $doc | Should -BeLike '*; file systems not flushed before it (a run before session 16).*'
        $doc | Should -Not -BeLike '*flushed (sync) before it*'
    }
}
