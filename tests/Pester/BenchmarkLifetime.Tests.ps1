# Scenario (e) over a process's life (bench/module-lifetime.ps1): docs/benchmarks.md's table of each stretch of a
# fresh pwsh's saves is rendered from the processes' own times (bench/BenchLifetime.ps1), per runtime setting.

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    . (Join-Path $Repo 'bench/BenchLifetime.ps1')

    # A process's result as module-lifetime.ps1 writes it: save i of each way took $Module(i) and $Json(i) ms.
    function script:New-Lifetime([string] $Pgo, [int] $Saves, [scriptblock] $Module, [scriptblock] $Json) {
        [pscustomobject]@{
            Saves = $Saves; TieredPGO = $Pgo
            ModuleMilliseconds = [double[]]@(1..$Saves | ForEach-Object $Module)
            JsonMilliseconds = [double[]]@(1..$Saves | ForEach-Object $Json)
        }
    }
}

Describe 'The over-a-process''s-life table of docs/benchmarks.md' {
    It 'gives each stretch of saves the median of its saves over every process of the same setting' {
        # Default setting, two processes: save i took i ms in one and i + 1000 ms in the other, so each stretch's pooled
        # median is the middle of both lists (saves 2–10: 2..10 and 1002..1010, median (10 + 1002) / 2 = 506; JSON's
        # 4..20 and 1004..1020, median 512).
        $runs = @(
            New-Lifetime 'default' 10 { $_ } { 2 * $_ }
            New-Lifetime 'default' 10 { $_ + 1000 } { 2 * $_ + 1000 }
        )

        $table = Format-LifetimeSection $runs | Where-Object { $_ -like '| *' }

        $table[0] | Should -Be '| saves | Save-Checkpoint, default runtime settings | ConvertTo-Json \| Set-Content, default runtime settings |'
        $table[1] | Should -Be '| 1 | 501.0 ms | 502.0 ms |'
        $table[2] | Should -Be '| 2–10 | 506.0 ms | 512.0 ms |'
        $table.Count | Should -Be 3
    }

    It 'puts each setting in columns of its own and keeps the processes of the other setting out of its medians' {
        $runs = @(
            New-Lifetime 'default' 30 { 20.0 } { 30.0 }
            New-Lifetime '0' 30 { 12.0 } { 9.0 }
            New-Lifetime 'default' 30 { 20.0 } { 30.0 }
            New-Lifetime '0' 30 { 12.0 } { 9.0 }
        )

        $lines = Format-LifetimeSection $runs

        ($lines | Where-Object { $_ -like '| saves |*' }) | Should -Be '| saves | Save-Checkpoint, default runtime settings | ConvertTo-Json \| Set-Content, default runtime settings | Save-Checkpoint, DOTNET_TieredPGO=0 | ConvertTo-Json \| Set-Content, DOTNET_TieredPGO=0 |'
        ($lines | Where-Object { $_ -like '| 11–30 |*' }) | Should -Be '| 11–30 | 20.0 ms | 30.0 ms | 12.0 ms | 9.0 ms |'
        ($lines -join "`n") | Should -BeLike '*(2 with default runtime settings, 2 with DOTNET_TieredPGO=0, alternating)*'
    }

    It 'cuts the last stretch a shorter run reached and leaves out the stretches it did not' {
        $runs = @(New-Lifetime 'default' 45 { $_ } { $_ })

        $rows = Format-LifetimeSection $runs | Where-Object { $_ -match '^\| \d' } | ForEach-Object { ($_ -split '\|')[1].Trim() }

        $rows | Should -Be @('1', '2–10', '11–30', '31–45')
    }

    It 'renders nothing when the run measured no lifetime' {
        @(Format-LifetimeSection @()).Count | Should -Be 0
    }
}

Describe 'Attack27: bench/module-lifetime.ps1 and its table fail loudly rather than render wrong figures' {
    It 'Attack27 refuses -Saves 0 or less before measuring anything' {
        $script = Join-Path $Repo 'bench/module-lifetime.ps1'
        foreach ($n in 0, -3) {
            { & $script -ModulePath (Join-Path $TestDrive 'no such module.psd1') -Saves $n } | Should -Throw -ExpectedMessage '*Saves*'
        }
    }

    It 'Attack27 refuses a run whose times are fewer than its Saves (missing times would be medians of zeros)' {
        $run = New-Lifetime 'default' 10 { 50.0 } { 60.0 }
        $run.Saves = 20

        { Format-LifetimeSection @($run) } | Should -Throw -ExpectedMessage '*20*'
    }

    It 'Attack27 refuses a run of no saves' {
        $run = [pscustomobject]@{ Saves = 0; TieredPGO = 'default'; ModuleMilliseconds = @(); JsonMilliseconds = @() }

        { Format-LifetimeSection @($run) } | Should -Throw
    }

    It 'Attack27 labels a process by COMPlus_TieredPGO when DOTNET_TieredPGO is not set (the runtime honours both)' {
        $saved = $env:DOTNET_TieredPGO, $env:COMPlus_TieredPGO
        try {
            $env:DOTNET_TieredPGO = $null; $env:COMPlus_TieredPGO = '0'
            Get-LifetimeTieredPgo | Should -Be '0'
            $env:DOTNET_TieredPGO = '1'
            Get-LifetimeTieredPgo | Should -Be '1'
            $env:DOTNET_TieredPGO = $null; $env:COMPlus_TieredPGO = $null
            Get-LifetimeTieredPgo | Should -Be 'default'
        }
        finally { $env:DOTNET_TieredPGO, $env:COMPlus_TieredPGO = $saved }
    }

    It 'Attack27 names other runtime settings of the processes under the table (tiered compilation off makes both columns something else)' {
        $run = New-Lifetime 'default' 3 { 5.0 } { 6.0 }
        $run | Add-Member RuntimeSettings @('DOTNET_TieredCompilation=0')

        (Format-LifetimeSection @($run)) -join "`n" | Should -BeLike '*DOTNET_TieredCompilation=0*'
    }
}
