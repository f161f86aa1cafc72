# Waiting for a quiet machine before a bench run: dot-sourced by bench/run-all.ps1 and tests/Pester/BenchPairedRatio.Tests.ps1.
# A run started right after a CI run measured with a 15-minute load average of 14; every figure moved. The wait is
# bounded, and its outcome goes into the report's header, reached or not.

function Wait-BenchQuiet {
    param(
        # The 1-minute load average must fall below this.
        [double] $Threshold = 1.5,
        # The longest wait (0: none).
        [int] $TimeoutSeconds = 300,
        [int] $IntervalSeconds = 5,
        # Returns "1min 5min 15min" (bench/run-all.ps1: /proc/loadavg).
        [Parameter(Mandatory)] [scriptblock] $Read,
        # Waits the given seconds (tests pass one that does not sleep).
        [scriptblock] $Sleep = { param([int] $Seconds) Start-Sleep -Seconds $Seconds }
    )
    $inv = [Globalization.CultureInfo]::InvariantCulture
    $start = [string](& $Read)
    $now = $start
    $waited = 0
    $reached = [double]::Parse($now.Split(' ')[0], $inv) -lt $Threshold
    if (-not $reached -and $TimeoutSeconds -gt 0) { Write-Host "Waiting for a quiet machine (1-minute load average below $Threshold, at most $TimeoutSeconds s); load average $now" }
    while (-not $reached -and $waited -lt $TimeoutSeconds) {
        & $Sleep $IntervalSeconds
        $waited += $IntervalSeconds
        $now = [string](& $Read)
        $reached = [double]::Parse($now.Split(' ')[0], $inv) -lt $Threshold
    }
    [pscustomobject]@{ Reached = $reached; WaitedSeconds = $waited; Threshold = $Threshold; TimeoutSeconds = $TimeoutSeconds; IntervalSeconds = $IntervalSeconds; LoadAtStart = $start; LoadAtEnd = $now }
}
