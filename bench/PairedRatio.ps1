# The ratio of two operations measured as pairs adjacent in time, for scenario (e) (the module's restores against
# a compiled raw read; Save-/Restore-Checkpoint against JSON): baseline time / engine time of each pair, judged on
# the median of those per-pair ratios, with their spread. The same computation as the engine scenarios'
# bench/DataraxCkpt.Bench/PairedRatio.cs (same quantile definition; tests hold both to the same figures).
# Dot-sourced by bench/module-states.ps1, bench/run-all.ps1 and tests/Pester/BenchPairedRatio.Tests.ps1.

function Get-BenchQuantile([double[]] $Sorted, [double] $Q) {
    # Linear interpolation between the two nearest ranks (numpy's default, Hyndman-Fan type 7): position q*(n-1).
    if ($Sorted.Length -eq 0) { return [double]::NaN }
    $position = $Q * ($Sorted.Length - 1)
    $below = [int][math]::Floor($position)
    $above = [math]::Min($below + 1, $Sorted.Length - 1)
    $Sorted[$below] + ($Sorted[$above] - $Sorted[$below]) * ($position - $below)
}

function Get-PairedRatio([double[]] $EngineSeconds, [double[]] $BaselineSeconds) {
    # $EngineSeconds[i] and $BaselineSeconds[i] ran next to each other; $null when there is no pair or a time is not a
    # positive finite number (a zero engine time would read as an infinitely fast engine): such a comparison is not judged.
    if ($EngineSeconds.Length -ne $BaselineSeconds.Length) { throw "$($EngineSeconds.Length) engine times against $($BaselineSeconds.Length) baseline times: the pairs do not match" }
    if ($EngineSeconds.Length -eq 0) { return $null }
    foreach ($x in @($EngineSeconds) + @($BaselineSeconds)) { if (-not ([double]::IsFinite($x) -and $x -gt 0)) { return $null } }
    $ratios = [double[]]::new($EngineSeconds.Length)
    for ($i = 0; $i -lt $ratios.Length; $i++) { $ratios[$i] = $BaselineSeconds[$i] / $EngineSeconds[$i] }
    $sorted = [double[]]$ratios.Clone(); [Array]::Sort($sorted)
    [pscustomobject]@{
        Ratios = $ratios; Count = $ratios.Length
        Median = Get-BenchQuantile $sorted 0.5
        LowerQuartile = Get-BenchQuantile $sorted 0.25; UpperQuartile = Get-BenchQuantile $sorted 0.75
        Min = $sorted[0]; Max = $sorted[-1]
    }
}

function Format-PairedRatio($Paired) {
    # "1.02× median of 11 paired ratios (IQR 0.95–1.10, range 0.80–1.31)", as PairedRatio.Describe() writes it (no colon:
    # the doc's target lines are parsed on it).
    $inv = [Globalization.CultureInfo]::InvariantCulture
    $f = { param([double] $x) $x.ToString('F2', $inv) }
    "$(& $f $Paired.Median)× median of $($Paired.Count) paired ratios (IQR $(& $f $Paired.LowerQuartile)–$(& $f $Paired.UpperQuartile), range $(& $f $Paired.Min)–$(& $f $Paired.Max))"
}

function Get-PairedRatioProblem([double[]] $EngineSeconds, [double[]] $BaselineSeconds) {
    # Why Get-PairedRatio gives nothing, as the target line says it (the C# PairedAtLeast's words; no colon: the doc's
    # target lines are parsed on it).
    $why = if ($EngineSeconds.Length -eq 0) { 'no measured pairs' } else { 'a time that is not a positive finite number' }
    "not judged, $why ($($EngineSeconds.Length) engine and $($BaselineSeconds.Length) baseline times)"
}
