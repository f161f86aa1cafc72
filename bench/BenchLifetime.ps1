# Renders bench/module-lifetime.ps1's results (scenario (e), over a process's life) for docs/benchmarks.md:
# the median save of each stretch of a fresh pwsh's saves, per runtime setting, the module beside JSON.
# Dot-sourced by bench/run-all.ps1 and tests/Pester/BenchmarkLifetime.Tests.ps1.

# The medians are bench/PairedRatio.ps1's quantile, as every other figure of the page.
. (Join-Path $PSScriptRoot 'PairedRatio.ps1')

# First and last save of each stretch; a run with fewer saves keeps the stretches it reached, the last one cut.
$LifetimeStretches = @(@(1, 1), @(2, 10), @(11, 30), @(31, 60), @(61, 100), @(101, 150), @(151, 300))

# The process's tiered-PGO setting as the runtime reads it: DOTNET_TieredPGO, else the older COMPlus_TieredPGO, else 'default'.
function Get-LifetimeTieredPgo {
    foreach ($name in 'DOTNET_TieredPGO', 'COMPlus_TieredPGO') {
        $value = [Environment]::GetEnvironmentVariable($name)
        if ($value) { return $value }
    }
    'default'
}

# Other runtime settings of the process that change how its code is compiled (tiering, ReadyToRun, OSR), as NAME=value.
function Get-LifetimeRuntimeSettings {
    @([Environment]::GetEnvironmentVariables().GetEnumerator() |
        Where-Object { $_.Key -match '^(DOTNET|COMPlus)_(Tiered|TC_|ReadyToRun|OSR|TieredCompilation|ZapDisable|JitEnable)' -and $_.Key -notmatch '_TieredPGO$' } |
        ForEach-Object { "$($_.Key)=$($_.Value)" } | Sort-Object)
}

function Format-LifetimeSection($Lifetimes) {
    $inv = [Globalization.CultureInfo]::InvariantCulture
    $runs = @($Lifetimes | Where-Object { $_ })
    if ($runs.Count -eq 0) { return @() }
    foreach ($run in $runs) {
        # A missing time would become 0 in the medians: refuse a run that is not what it says.
        if ($run.Saves -lt 1) { throw "a lifetime run of $($run.Saves) saves has nothing to render" }
        foreach ($field in 'ModuleMilliseconds', 'JsonMilliseconds') {
            $n = @($run.$field | Where-Object { $null -ne $_ }).Count
            if ($n -ne $run.Saves) { throw "a lifetime run of $($run.Saves) saves has $n $field" }
        }
    }
    $settings = @($runs | ForEach-Object { $_.TieredPGO } | Select-Object -Unique)
    $saves = ($runs | Measure-Object -Property Saves -Minimum).Minimum
    $label = @{ default = 'default runtime settings' }
    $lines = [Collections.Generic.List[string]]::new()
    $lines.Add('### Save-Checkpoint over a fresh pwsh''s first saves')
    $lines.Add('')
    $perSetting = ($settings | ForEach-Object { $s = $_; "$(@($runs | Where-Object { $_.TieredPGO -eq $s }).Count) with $(if ($label.ContainsKey($s)) { $label[$s] } else { "DOTNET_TieredPGO=$s" })" }) -join ', '
    $lines.Add("``bench/module-lifetime.ps1``, in fresh pwsh processes ($perSetting, alternating): each saves the 2,000 configs of the table above $saves times with Save-Checkpoint and with ConvertTo-Json | Set-Content, which goes first alternating, restoring the module's step after each save and keeping three steps (outside the timings). Each cell is the median of that stretch of saves over the processes of its setting. No target: this shows what the targets' warm repetitions leave out, the saves a process makes while .NET's tiered compilation promotes and instruments the code (docs/performance-notes.md, round 72).")
    $lines.Add('')
    $header = '| saves |'; $rule = '|---|'
    foreach ($s in $settings) {
        $name = if ($label.ContainsKey($s)) { $label[$s] } else { "DOTNET_TieredPGO=$s" }
        $header += " Save-Checkpoint, $name | ConvertTo-Json \| Set-Content, $name |"; $rule += '---:|---:|'
    }
    $lines.Add($header); $lines.Add($rule)
    foreach ($stretch in $LifetimeStretches) {
        $first = $stretch[0]; $last = [math]::Min($stretch[1], $saves)
        if ($first -gt $saves) { break }
        $row = if ($first -eq $last) { "| $first |" } else { "| $first–$last |" }
        foreach ($s in $settings) {
            foreach ($field in 'ModuleMilliseconds', 'JsonMilliseconds') {
                $values = [double[]]@($runs | Where-Object { $_.TieredPGO -eq $s } | ForEach-Object { @($_.$field)[($first - 1)..($last - 1)] })
                [Array]::Sort($values)
                $median = if ($values.Count -eq 0) { $null } else { Get-BenchQuantile $values 0.5 }
                $row += " $(if ($null -eq $median) { '' } else { $median.ToString('F1', $inv) + ' ms' }) |"
            }
        }
        $lines.Add($row)
    }
    $others = @($runs | ForEach-Object { if ($_.PSObject.Properties['RuntimeSettings']) { $_.RuntimeSettings } } | Where-Object { $_ } | Sort-Object -Unique)
    if ($others.Count -gt 0) { $lines.Add(''); $lines.Add("- note: the processes also ran with $($others -join ', ') in their environment") }
    $lines.Add('')
    $lines
}
