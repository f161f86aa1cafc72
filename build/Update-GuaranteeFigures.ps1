#requires -Version 7.4
<#
.SYNOPSIS
    Renders the figures of the last test run (FIGURE lines) and the last mutation scores into
    docs/guarantees.md, between marker comments; with -Check, only compares.

.DESCRIPTION
    Every figure in docs/guarantees.md comes from a run, never from a keyboard:
      - tests print "FIGURE guarantee N | what | figures" (StoreAssert.Figure, Concurrency.Tests.ps1) and
        build.ps1 -Task Test collects them in out/figures.txt, plus one "FIGURE run | whole suite | …" line;
      - build.ps1 -Task Figures calls this script with that file: it keeps a sorted copy as
        docs/figures/guarantees.txt (committed) and rewrites the blocks
        <!-- figures:NAME --> … <!-- /figures:NAME --> of docs/guarantees.md (NAME = run, guarantee-1 … guarantee-8, mutation);
      - build/Invoke-Mutation.ps1 writes build/mutation-scores.json and calls this script for the mutation block.
    -Check renders the committed artifact and scores in memory and fails when the committed doc differs
    (tests/Pester/GuaranteeFigures.Tests.ps1 runs it), so the doc can never drift from its run, and a
    fresh clone is consistent by construction: both inputs are committed.

.EXAMPLE
    ./build/Update-GuaranteeFigures.ps1 -FiguresPath out/figures.txt
.EXAMPLE
    ./build/Update-GuaranteeFigures.ps1 -Check
#>
[CmdletBinding()]
param(
    # A new run's figure lines; without it the committed artifact is rendered again.
    [string] $FiguresPath,
    [switch] $Check,
    [string] $DocPath = (Join-Path (Split-Path $PSScriptRoot) 'docs/guarantees.md'),
    [string] $ArtifactPath = (Join-Path (Split-Path $PSScriptRoot) 'docs/figures/guarantees.txt'),
    [string] $ScoresPath = (Join-Path $PSScriptRoot 'mutation-scores.json'),
    [string] $TargetsPath = (Join-Path $PSScriptRoot 'mutation-targets.json')
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

function Read-Figures([string] $Path) {
    # One record per line; duplicates (a test class run twice) collapse; order is made stable by sorting.
    @(Get-Content -LiteralPath $Path | Where-Object { $_ -like 'FIGURE *' } | Sort-Object -Unique -Culture ([cultureinfo]::InvariantCulture)) |
        ForEach-Object {
            $parts = $_.Substring(7).Split(' | ', 3)
            [pscustomobject]@{ Key = $parts[0].Trim(); What = $parts[1].Trim(); Figures = $parts[2].Trim(); Line = $_ }
        }
}

function Format-FigureBlock($Figures) {
    $lines = [Collections.Generic.List[string]]::new()
    foreach ($group in $Figures | Group-Object What | Sort-Object Name -Culture ([cultureinfo]::InvariantCulture)) {
        if ($group.Count -eq 1) {
            $lines.Add("- $($group.Name): **$($group.Group[0].Figures)**")
        }
        else {
            $lines.Add("- $($group.Name) — $($group.Count) cases, each:")
            foreach ($f in $group.Group) { $lines.Add("  - $($f.Figures)") }
        }
    }
    if ($lines.Count -eq 0) { $lines.Add('- (no figure line in the last run)') }
    return $lines
}

function Format-MutationBlock {
    $targets = (Get-Content -Raw -LiteralPath $TargetsPath | ConvertFrom-Json).targets
    $scores = @{}
    if (Test-Path -LiteralPath $ScoresPath) {
        foreach ($s in (Get-Content -Raw -LiteralPath $ScoresPath | ConvertFrom-Json).files) { $scores[$s.name] = $s }
    }
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('| file (src/Engine) | score | killed | timeout | survived | no coverage | run on | tests run against it |')
    $lines.Add('|---|---|---|---|---|---|---|---|')
    foreach ($t in $targets) {
        if ($scores.ContainsKey($t.name) -and $null -ne $scores[$t.name].score) {
            $s = $scores[$t.name]
            $lines.Add("| ``$($t.file)`` | **$($s.score.ToString('0.0', [cultureinfo]::InvariantCulture)) %** | $($s.killed) | $($s.timeout) | $($s.survived) | $($s.noCoverage) | $($s.date) | ``$($t.filter -replace '\|', '\|')`` |")
        }
        else {
            $lines.Add("| ``$($t.file)`` | not run yet | | | | | | ``$($t.filter -replace '\|', '\|')`` |")
        }
    }
    $survivors = @($targets | Where-Object { $scores.ContainsKey($_.name) -and @($scores[$_.name].survivors).Count -gt 0 })
    foreach ($t in $survivors) {
        $lines.Add('')
        $lines.Add("Surviving mutants of ``$($t.file)`` in that run:")
        foreach ($m in $scores[$t.name].survivors) { $lines.Add("- $m") }
    }
    return $lines
}

function Update-Block([string] $Text, [string] $Name, [string[]] $Body) {
    $begin = "<!-- figures:$Name -->"
    $end = "<!-- /figures:$Name -->"
    $from = $Text.IndexOf($begin, [StringComparison]::Ordinal)
    $to = $Text.IndexOf($end, [StringComparison]::Ordinal)
    if ($from -lt 0 -or $to -lt $from) { throw "docs/guarantees.md lacks the marker pair $begin … $end." }
    $nl = "`n"
    return $Text.Substring(0, $from + $begin.Length) + $nl + ($Body -join $nl) + $nl + $Text.Substring($to)
}

if ($FiguresPath) {
    if ($Check) { throw '-Check compares the committed artifact; do not pass -FiguresPath with it.' }
    $null = New-Item -ItemType Directory -Force -Path (Split-Path $ArtifactPath)
    $fresh = @(Read-Figures $FiguresPath)
    if (-not ($fresh | Where-Object Key -eq 'run')) { throw "$FiguresPath has no 'FIGURE run' line: it is not from a complete build.ps1 -Task Test run." }
    $fresh.Line | Set-Content -LiteralPath $ArtifactPath -Encoding utf8NoBOM
}

$figures = @(Read-Figures $ArtifactPath)
$doc = (Get-Content -Raw -LiteralPath $DocPath) -replace "`r`n", "`n"
$rendered = $doc
$rendered = Update-Block $rendered 'run' (Format-FigureBlock @($figures | Where-Object Key -eq 'run'))
foreach ($n in 1..8) {
    $rendered = Update-Block $rendered "guarantee-$n" (Format-FigureBlock @($figures | Where-Object Key -eq "guarantee $n"))
}
$rendered = Update-Block $rendered 'mutation' (Format-MutationBlock)

if ($Check) {
    if ($rendered -ne $doc) {
        $a = $doc -split "`n"; $b = $rendered -split "`n"
        $diff = Compare-Object $a $b | Select-Object -First 10 | ForEach-Object { "$($_.SideIndicator) $($_.InputObject)" }
        throw "docs/guarantees.md differs from its figures (docs/figures/guarantees.txt, build/mutation-scores.json); run build.ps1 -Task Figures after a test run:`n$($diff -join "`n")"
    }
    Write-Host 'docs/guarantees.md agrees with docs/figures/guarantees.txt and build/mutation-scores.json'
    return
}
Set-Content -LiteralPath $DocPath -Value $rendered -NoNewline -Encoding utf8NoBOM
Write-Host "Rendered $($figures.Count) figure lines and the mutation scores into $DocPath"
