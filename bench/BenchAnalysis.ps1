# The analysis part of docs/benchmarks.md: bench/analysis.md with its placeholders filled from a run's
# targets. Dot-sourced by bench/run-all.ps1 and by tests/Pester/BenchmarkAnalysis.Tests.ps1, which
# renders the committed doc's analysis again from the doc's own target lines and compares.

# Written before the analysis, so the figures part and the rendered analysis can be told apart.
$AnalysisMarker = '<!-- analysis: bench/analysis.md rendered from the targets above by bench/run-all.ps1 -->'

function Format-Analysis([string] $Text, $Targets) {
    # No figure in the analysis is typed: each comes from this run's results, and the explanation of a
    # missed target is shown only when this run missed it, so the text cannot explain a miss that the
    # figures above contradict.
    $inv = [Globalization.CultureInfo]::InvariantCulture
    $Text = $Text -replace "`r`n", "`n"
    $explanations = [ordered]@{}
    $blocks = [regex]::Matches($Text, '(?s)<!-- missed: (.+?) -->\n(.*?)<!-- /missed -->\n?')
    foreach ($m in $blocks) { $explanations[$m.Groups[1].Value] = $m.Groups[2].Value.TrimEnd() }
    $Text = [regex]::Replace($Text, '(?s)<!-- missed: (.+?) -->\n(.*?)<!-- /missed -->\n?', '')
    $find = { param([string] $prefix) $Targets | Where-Object { ([string]$_.Goal).StartsWith($prefix, [StringComparison]::Ordinal) } | Select-Object -First 1 }
    $missed = foreach ($t in @($Targets | Where-Object { $_.Met -eq $false })) {
        $key = @($explanations.Keys | Where-Object { ([string]$t.Goal).StartsWith($_, [StringComparison]::Ordinal) }) | Select-Object -First 1
        if ($key) { $explanations[$key].Replace('{{measured}}', [string]$t.Measured) }
        else { "- **$($t.Goal)** ($($t.Measured)): missed in this run; no explanation written yet." }
    }
    $missedText = if ($missed) { @($missed) -join "`n" } else { '- None: every judged target was met in this run.' }
    $Text = $Text.Replace('{{missed-targets}}', $missedText)
    $Text = [regex]::Replace($Text, '\{\{target:([^}]+)\}\}', {
        param($m)
        $t = & $find $m.Groups[1].Value
        if ($t) { [string]$t.Measured } else { 'not measured in this run' }
    })
    if ($Text -match '\{\{[^}]*\}\}') { throw "bench/analysis.md has a placeholder this script does not know: $($Matches[0])" }
    return ([regex]::Replace($Text, '\n{3,}', "`n`n")).TrimEnd()
}

function Read-BenchTargets([string] $Doc) {
    # The targets as the figures part of docs/benchmarks.md states them: "- **MET|MISSED|NOT JUDGED** GOAL: MEASURED"
    # (a goal may hold ': ', a measurement does not) and the Import-Module line of (e).
    $figures = ($Doc -split [regex]::Escape($AnalysisMarker))[0]
    foreach ($line in $figures -split "\r?\n") {
        if ($line -match '^- \*\*(MET|MISSED|NOT JUDGED)\*\* (.+): ([^:]+)$') {
            [pscustomobject]@{ Goal = $Matches[2]; Measured = $Matches[3]; Met = switch ($Matches[1]) { 'MET' { $true } 'MISSED' { $false } default { $null } } }
        }
        elseif ($line -match '^- Import-Module in a fresh pwsh: (.+) — \*\*(MET|MISSED)\*\* \(target under 0\.5 s\)$') {
            [pscustomobject]@{ Goal = '(e) Import-Module in a fresh pwsh under 0.5 s'; Measured = $Matches[1]; Met = $Matches[2] -eq 'MET' }
        }
    }
}
