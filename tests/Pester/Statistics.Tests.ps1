# Issue 16 (module part): tensor statistics, NaN hunting and numeric diffs from pwsh. Each behaviour runs the built
# module in a fresh pwsh; the expected numbers are computed here, independently, from the same values (plain double
# loops, two-pass variance). Counts, Min and Max must match exactly; Mean, StandardDeviation, L2Norm and the
# difference measures to 1e-12 relative (the engine sums in a different order, compensated).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    # Runs $Body in a fresh pwsh with the module imported and $root set to a fresh folder.
    function Invoke-Fresh([string] $Body) {
        $root = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $null = New-Item -ItemType Directory -Path $root
        $result = Invoke-FreshPwsh -WorkingDirectory $root -Script "`$ErrorActionPreference = 'Stop'; Import-Module '$ModuleManifest'; `$root = '$root'`n$Body"
        $result | Add-Member -NotePropertyName Root -NotePropertyValue $root -PassThru
    }

    # The objects a fresh pwsh wrote with Export-Clixml to $root/out.xml (doubles keep NaN, ±Inf and -0.0).
    function Import-FreshOutput($Result) {
        $file = Join-Path $Result.Root 'out.xml'
        if (-not (Test-Path -LiteralPath $file)) { throw "The fresh pwsh wrote no output: $($Result.Output -join "`n")" }
        @(Import-Clixml -LiteralPath $file)
    }

    function Assert-Close($Actual, [double] $Expected, [string] $Because) {
        $null -eq $Actual | Should -BeFalse -Because "$Because is expected to be $Expected"
        [math]::Abs([double]$Actual - $Expected) | Should -BeLessOrEqual (1e-12 * [math]::Max(1.0, [math]::Abs($Expected))) -Because "$Because = $Actual, expected $Expected"
    }

    # Statistics of a tensor as TensorStatistics documents them, computed straightforwardly in double.
    function Get-ExpectedStatistics([double[]] $Values) {
        $notNaN = @($Values | Where-Object { -not [double]::IsNaN($_) })
        $finite = @($Values | Where-Object { [double]::IsFinite($_) })
        $sum = 0.0; foreach ($v in $finite) { $sum += $v }
        $mean = if ($finite.Count) { $sum / $finite.Count } else { $null }
        $squares = 0.0; foreach ($v in $finite) { $squares += ($v - $mean) * ($v - $mean) }
        $l2 = 0.0; foreach ($v in $finite) { $l2 += $v * $v }
        [pscustomobject]@{
            Count                 = $Values.Count
            NaNCount              = @($Values | Where-Object { [double]::IsNaN($_) }).Count
            PositiveInfinityCount = @($Values | Where-Object { [double]::IsPositiveInfinity($_) }).Count
            NegativeInfinityCount = @($Values | Where-Object { [double]::IsNegativeInfinity($_) }).Count
            ZeroCount             = @($Values | Where-Object { $_ -eq 0 }).Count
            Min                   = if ($notNaN.Count) { ($notNaN | Measure-Object -Minimum).Minimum } else { $null }
            Max                   = if ($notNaN.Count) { ($notNaN | Measure-Object -Maximum).Maximum } else { $null }
            Mean                  = $mean
            StandardDeviation     = if ($finite.Count) { [math]::Sqrt($squares / $finite.Count) } else { $null }
            L2Norm                = [math]::Sqrt($l2)
        }
    }

    function Assert-Statistics($Actual, [double[]] $Values, [string] $Item) {
        $expected = Get-ExpectedStatistics $Values
        foreach ($name in 'Count', 'NaNCount', 'PositiveInfinityCount', 'NegativeInfinityCount', 'ZeroCount') {
            $Actual.$name | Should -Be $expected.$name -Because "$Item.$name"
        }
        foreach ($name in 'Min', 'Max') {
            if ($null -eq $expected.$name) { $Actual.$name | Should -BeNullOrEmpty -Because "$Item.$name" }
            else { $Actual.$name | Should -Be $expected.$name -Because "$Item.$name" }
        }
        foreach ($name in 'Mean', 'StandardDeviation') {
            if ($null -eq $expected.$name) { $Actual.$name | Should -BeNullOrEmpty -Because "$Item.$name" }
            else { Assert-Close $Actual.$name $expected.$name "$Item.$name" }
        }
        Assert-Close $Actual.L2Norm $expected.L2Norm "$Item.L2Norm"
        $Actual.IsFinite | Should -Be ($expected.NaNCount + $expected.PositiveInfinityCount + $expected.NegativeInfinityCount -eq 0) -Because "$Item.IsFinite"
    }

    # The values of the statistics store, as the fresh pwsh saves them (the f16 values are exact in binary16).
    $script:StatisticsValues = [ordered]@{
        'finite'         = [double[]]@(1.5, -2, 0, [double]::NegativeZero, 3, 0.25, 4, 1.25)
        'special'        = [double[]]@(1, [double]::NaN, [double]::PositiveInfinity, [double]::NegativeInfinity, [double]::NaN, 2, [double]::NegativeZero, 0)
        'allnan'         = [double[]]@([double]::NaN, [double]::NaN, [double]::NaN)
        'empty'          = [double[]]@()
        'half'           = [double[]]@(0.5, -1.5, 2, 0, 65504, [double]::NegativeZero)
        'halfspecial'    = [double[]]@([double]::NaN, [double]::PositiveInfinity, 1)
        'ints'           = [double[]]@(3, -1, 0, 7, -2147483648)
        'longs'          = [double[]]@(5, -5, 10, 0)
        'flags'          = [double[]]@(1, 0, 1, 1)
        'bytes'          = [double[]]@(0, 255, 1)
        'params/inner/w' = [double[]]@(0.5, 0.5, -0.5, 0.5)
    }
    $script:StatisticsStore = @'
$state = [ordered]@{
    finite      = [float[,]]::new(2, 4)
    special     = [float[]]@(1, [float]::NaN, [float]::PositiveInfinity, [float]::NegativeInfinity, [float]::NaN, 2, [float]::NegativeZero, 0)
    allnan      = [double[]]@([double]::NaN, [double]::NaN, [double]::NaN)
    empty       = [float[]]::new(0)
    half        = [System.Half[]]@([System.Half]0.5, [System.Half](-1.5), [System.Half]2, [System.Half]0, [System.Half]::MaxValue, [System.Half]::NegativeZero)
    halfspecial = [System.Half[]]@([System.Half]::NaN, [System.Half]::PositiveInfinity, [System.Half]1)
    ints        = [int[]]@(3, -1, 0, 7, [int]::MinValue)
    longs       = [long[]]@(5, -5, 10, 0)
    flags       = [bool[]]@($true, $false, $true, $true)
    bytes       = [byte[]]@(0, 255, 1)
    params      = [ordered]@{ inner = [ordered]@{ w = [float[,,]]::new(2, 1, 2) } }
    lr          = 0.001
    name        = 'run-a'
}
$f = [float[]]@(1.5, -2, 0, [float]::NegativeZero, 3, 0.25, 4, 1.25)
for ($i = 0; $i -lt 8; $i++) { $state.finite[[int][math]::Floor($i / 4), ($i % 4)] = $f[$i] }
$state.params.inner.w[0, 0, 0] = 0.5; $state.params.inner.w[0, 0, 1] = 0.5; $state.params.inner.w[1, 0, 0] = -0.5; $state.params.inner.w[1, 0, 1] = 0.5
# The fixture must hold a true -0.0, or the ZeroCount checks prove nothing about it.
if ([BitConverter]::SingleToInt32Bits($state.finite[0, 3]) -ne [int]::MinValue) { throw 'finite[0,3] is not -0.0' }
$state | Save-Checkpoint (Join-Path $root 'ck') -Step 7
'@
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Get-CheckpointItem -Statistics' {
    It 'gives the exact statistics of float32, float64, float16, integer and bool tensors, with NaN, ±Inf, -0.0 and empty tensors' {
        $run = Invoke-Fresh ($StatisticsStore + "`n" + @'
Get-CheckpointItem (Join-Path $root 'ck') -Statistics | Export-Clixml (Join-Path $root 'out.xml') -Depth 4
'@)
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $statistics = @(Import-FreshOutput $run)
        # Only tensors: the scalar lr and the string name have no statistics.
        @($statistics | ForEach-Object Item | Sort-Object) | Should -Be @($StatisticsValues.Keys | Sort-Object)
        $dtypes = @{ finite = 'f32'; special = 'f32'; allnan = 'f64'; empty = 'f32'; half = 'f16'; halfspecial = 'f16'; ints = 'i32'; longs = 'i64'; flags = 'bool'; bytes = 'u8'; 'params/inner/w' = 'f32' }
        foreach ($s in $statistics) {
            $s.Step | Should -Be 7
            $s.DType | Should -Be $dtypes[$s.Item] -Because "the dtype of $($s.Item)"
            Assert-Statistics $s $StatisticsValues[$s.Item] $s.Item
        }
        @(($statistics | Where-Object Item -EQ 'finite').Shape) | Should -Be @(2, 4)
        @(($statistics | Where-Object Item -EQ 'params/inner/w').Shape) | Should -Be @(2, 1, 2)
        @(($statistics | Where-Object Item -EQ 'empty').Shape) | Should -Be @(0)
    }

    It 'states the documented values outright: -0.0 is a zero, NaN is skipped by Min/Max, ±Inf are not averaged' {
        # The same facts as above, written out, so that a wrong helper cannot hide a wrong engine.
        $run = Invoke-Fresh ($StatisticsStore + "`n" + @'
Get-CheckpointItem (Join-Path $root 'ck') -Statistics -Item finite, special, allnan, empty, flags | Export-Clixml (Join-Path $root 'out.xml') -Depth 4
'@)
        $statistics = @(Import-FreshOutput $run)
        $finite = $statistics | Where-Object Item -EQ 'finite'
        $finite.ZeroCount | Should -Be 2
        $finite.Min | Should -Be -2
        $finite.Max | Should -Be 4
        $finite.Mean | Should -Be 1              # (1.5 - 2 + 3 + 0.25 + 4 + 1.25) / 8, exact in binary
        Assert-Close $finite.StandardDeviation ([math]::Sqrt(24.875 / 8)) 'finite.StandardDeviation'
        Assert-Close $finite.L2Norm ([math]::Sqrt(32.875)) 'finite.L2Norm'
        $special = $statistics | Where-Object Item -EQ 'special'
        $special.NaNCount | Should -Be 2
        $special.PositiveInfinityCount | Should -Be 1
        $special.NegativeInfinityCount | Should -Be 1
        $special.ZeroCount | Should -Be 2
        [double]::IsNegativeInfinity($special.Min) | Should -BeTrue
        [double]::IsPositiveInfinity($special.Max) | Should -BeTrue
        $special.Mean | Should -Be 0.75          # over the finite 1, 2, -0.0, 0
        $special.IsFinite | Should -BeFalse
        $allNaN = $statistics | Where-Object Item -EQ 'allnan'
        $allNaN.Min | Should -BeNullOrEmpty
        $allNaN.Mean | Should -BeNullOrEmpty
        $allNaN.L2Norm | Should -Be 0
        $empty = $statistics | Where-Object Item -EQ 'empty'
        $empty.Count | Should -Be 0
        $empty.Min | Should -BeNullOrEmpty
        $empty.StandardDeviation | Should -BeNullOrEmpty
        $empty.IsFinite | Should -BeTrue
        $flags = $statistics | Where-Object Item -EQ 'flags'
        $flags.ZeroCount | Should -Be 1
        $flags.Mean | Should -Be 0.75
    }

    It 'reads only the items that -Item (or -Name) matches, with * and ? and literal brackets' {
        $run = Invoke-Fresh ($StatisticsStore + "`n" + @'
$a = @(Get-CheckpointItem (Join-Path $root 'ck') -Statistics -Item 'params/*', 'f?nite')
$b = @(Get-CheckpointItem (Join-Path $root 'ck') -Statistics -Name 'half*')
$c = @(Get-CheckpointItem (Join-Path $root 'ck') -Statistics -Item 'fin[i]te')
"a=$(($a | ForEach-Object Item | Sort-Object) -join ',')"
"b=$(($b.Name | Sort-Object) -join ',')"   # Name: the alias of Item that enumerates over an array
"c=$($c.Count)"
'@)
        $run.Output | Should -Contain 'a=finite,params/inner/w'
        $run.Output | Should -Contain 'b=half,halfspecial'
        $run.Output | Should -Contain 'c=0'
    }

    It 'gives a time series over the steps of piped Get-Checkpoint records' {
        $run = Invoke-Fresh @'
$dir = Join-Path $root 'run'
foreach ($step in 10, 20, 30) {
    [ordered]@{ params = [ordered]@{ w = [float[]]@($step, $step, $step, $step); b = [float[]]@(1, 1) }; opt = [float[]]@(0) } | Save-Checkpoint $dir -Step $step
}
Get-Checkpoint $dir | Get-CheckpointItem -Statistics -Item 'params/*' | Export-Clixml (Join-Path $root 'out.xml') -Depth 4
'@
        $series = @(Import-FreshOutput $run)
        $series.Count | Should -Be 6
        $w = @($series | Where-Object Item -EQ 'params/w')
        $w.Step | Should -Be @(10, 20, 30)
        $w.L2Norm | Should -Be @(20, 40, 60)       # sqrt(4 step^2)
        $w.Mean | Should -Be @(10, 20, 30)
        ($series | Where-Object Item -EQ 'params/b').L2Norm | ForEach-Object { Assert-Close $_ ([math]::Sqrt(2)) 'params/b.L2Norm' }
        @($series | ForEach-Object Item) | Should -Not -Contain 'opt'
    }

    It 'a 1500-element tensor of 1.0 has mean exactly 1 and standard deviation exactly 0' {
        $run = Invoke-Fresh @'
$ones = [float[]]::new(1500); [Array]::Fill($ones, [float]1)
@{ ones = $ones } | Save-Checkpoint (Join-Path $root 'ck') -Step 1
Get-CheckpointItem (Join-Path $root 'ck') -Statistics | Export-Clixml (Join-Path $root 'out.xml') -Depth 4
'@
        $s = @(Import-FreshOutput $run)
        $s.Count | Should -Be 1
        $s[0].Count | Should -Be 1500
        $s[0].Mean | Should -BeExactly 1
        $s[0].StandardDeviation | Should -BeExactly 0
        Assert-Close $s[0].L2Norm ([math]::Sqrt(1500)) 'ones.L2Norm'
    }

    It 'keeps raw numbers in the properties: ConvertTo-Json writes numbers, Where-Object compares numbers' {
        $run = Invoke-Fresh ($StatisticsStore + "`n" + @'
Get-CheckpointItem (Join-Path $root 'ck') -Statistics -Item finite | ConvertTo-Json -Compress
"big=$(@(Get-CheckpointItem (Join-Path $root 'ck') -Statistics | Where-Object Max -gt 100 | ForEach-Object Item | Sort-Object) -join ',')"
'@)
        $json = $run.Output | Where-Object { $_ -like '{*' }
        $json | Should -Match '"Count":8,'
        $json | Should -Match '"ZeroCount":2,'
        $json | Should -Match '"Min":-2(\.0)?,'
        $json | Should -Match '"Max":4(\.0)?,'
        $json | Should -Match '"Mean":1(\.0)?,'
        $json | Should -Match '"Shape":\[2,4\]'
        $json | Should -Match '"IsFinite":true'
        # +Inf is more than 100; null (no Min/Max) is not.
        $run.Output | Should -Contain 'big=bytes,half,halfspecial,special'
    }

    It 'shows a table with NaN and Inf columns, counts with K/M units and compact numbers' {
        $run = Invoke-Fresh ($StatisticsStore + "`n" + @'
$big = [float[]]::new(1500); $big[0] = [float]::NaN; $big[1] = 123456.789
$many = [byte[]]::new(2500000)
@{ big = $big; many = $many } | Save-Checkpoint (Join-Path $root 'ck') -Step 8
Get-CheckpointItem (Join-Path $root 'ck') -Step 8 -Statistics | Sort-Object Item | Format-Table | Out-String -Width 250
'@)
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $lines = @($run.Output | Where-Object { $_ -match '\S' })
        $header = $lines | Where-Object { $_ -match '^\s*Step\s+Item' }
        $header | Should -Match 'Step\s+Item\s+DType\s+Shape\s+Count\s+NaN\s+\+Inf\s+-Inf\s+Zeros\s+Min\s+Max\s+Mean\s+Std\s+L2'
        $big = $lines | Where-Object { $_ -match '\bbig\b' }
        # 1500 elements, 1 NaN, 1498 zeros; max 123456.789 as float32 in 4 significant digits.
        $big | Should -Match '\b1\.5K\s+1\s+0\s+0\s+1\.5K\s+0\s+1\.235E\+0?05\b'
        $many = $lines | Where-Object { $_ -match '\bmany\b' }
        $many | Should -Match '\b2\.5M\s+0\s+0\s+0\s+2\.5M\b'
    }

    It 'reports a missing step as StepNotFound and a missing directory as DirectoryNotFound' {
        $run = Invoke-Fresh ($StatisticsStore + "`n" + @'
$ErrorActionPreference = 'Continue'
Get-CheckpointItem (Join-Path $root 'ck') -Step 99 -Statistics -ErrorVariable e -ErrorAction SilentlyContinue
"a=$($e[0].FullyQualifiedErrorId)|$($e[0].CategoryInfo.Category)"
Get-CheckpointItem (Join-Path $root 'nothing') -Statistics -ErrorVariable e -ErrorAction SilentlyContinue
"b=$($e[0].FullyQualifiedErrorId)|$($e[0].CategoryInfo.Category)"
'@)
        $run.Output | Should -Contain 'a=StepNotFound,DataraxCkpt.Commands.GetCheckpointItemCommand|ObjectNotFound'
        $run.Output | Should -Contain 'b=DirectoryNotFound,DataraxCkpt.Commands.GetCheckpointItemCommand|ObjectNotFound'
    }

    It 'declares its output types and narrates with -Verbose' {
        (Get-Command Get-CheckpointItem).OutputType.Name | Should -Contain 'DataraxCkpt.TensorStatistics'
        (Get-Command Compare-Checkpoint).OutputType.Name | Should -Contain 'DataraxCkpt.TensorDifference'
        $dir = Join-Path $TestDrive 'verbose-statistics'
        @{ w = [float[]]@(1, 2) } | Save-Checkpoint $dir -Step 3
        $records = Get-CheckpointItem $dir -Statistics -Verbose 4>&1
        ($records | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] }).Message -join "`n" |
            Should -Match "Statistics of 1 tensor\(s\) of step 3"
    }
}

Describe 'Test-Checkpoint -Finite' {
    BeforeAll {
        # Step 1 finite; 2: w holds 2 NaN and b one -Inf; 3: integers and bools only; 4: an f16 +Inf.
        $script:FiniteStore = @'
$dir = Join-Path $root 'ck'
[ordered]@{ w = [float[]]@(1, 2, 3, 4); b = [double[]]@(0.5, -0.5) } | Save-Checkpoint $dir -Step 1
[ordered]@{ w = [float[]]@(1, [float]::NaN, 3, [float]::NaN); b = [double[]]@(0.5, [double]::NegativeInfinity) } | Save-Checkpoint $dir -Step 2
[ordered]@{ n = [int[]]@(1, 2); m = [bool[]]@($true) } | Save-Checkpoint $dir -Step 3
[ordered]@{ h = [System.Half[]]@([System.Half]::PositiveInfinity, [System.Half]1); w = [float[]]@(1) } | Save-Checkpoint $dir -Step 4
'@
    }

    It 'fails a step whose float tensors hold NaN or Inf and names each such item with its counts' {
        $run = Invoke-Fresh ($FiniteStore + "`n" + @'
Test-Checkpoint $dir -Finite | Export-Clixml (Join-Path $root 'out.xml') -Depth 4
'@)
        $results = @(Import-FreshOutput $run)
        $results.Step | Should -Be @(1, 2, 3, 4)
        $results.Ok | Should -Be @($true, $false, $true, $false)
        $two = $results | Where-Object Step -EQ 2
        @($two.Problems | ForEach-Object Item | Sort-Object) | Should -Be @('b', 'w')
        ($two.Problems | Where-Object Item -EQ 'w').Problem | Should -BeExactly 'not finite: 2 NaN of 4 elements'
        ($two.Problems | Where-Object Item -EQ 'b').Problem | Should -BeExactly 'not finite: 1 -Inf of 2 elements'
        $four = $results | Where-Object Step -EQ 4
        @($four.Problems | ForEach-Object Item) | Should -Be @('h')
        $four.Problems[0].Problem | Should -BeExactly 'not finite: 1 +Inf of 2 elements'
    }

    It 'without -Finite, the same steps pass: NaN is a value, not damage' {
        $run = Invoke-Fresh ($FiniteStore + "`n" + @'
"ok=$((Test-Checkpoint $dir).Ok -join ',')"
"quiet=$(Test-Checkpoint $dir -Quiet)"
'@)
        $run.Output | Should -Contain 'ok=True,True,True,True'
        $run.Output | Should -Contain 'quiet=True'
    }

    It '-Finite -Quiet is one bool, and an unattended job can turn it into an exit code' {
        $run = Invoke-Fresh ($FiniteStore + "`n" + @'
"finite13=$(Test-Checkpoint $dir -Step 1, 3 -Finite -Quiet)"
"finite2=$(Test-Checkpoint $dir -Step 2 -Finite -Quiet)"
if (-not (Test-Checkpoint $dir -Finite -Quiet)) { exit 3 }
'@)
        $run.Output | Should -Contain 'finite13=True'
        $run.Output | Should -Contain 'finite2=False'
        $run.ExitCode | Should -Be 3
    }

    It 'says in -Verbose which items of which step are not finite' {
        $run = Invoke-Fresh ($FiniteStore + "`n" + @'
Test-Checkpoint $dir -Step 2 -Finite -Verbose 4>&1 | Where-Object { $_ -is [System.Management.Automation.VerboseRecord] } | ForEach-Object { "v: $($_.Message)" }
'@)
        ($run.Output -join "`n") | Should -Match 'v: Step 2 of .* is not finite: .*w \(not finite: 2 NaN of 4 elements\)'
    }
}

Describe 'Remove-Checkpoint -KeepFinite' {
    BeforeAll {
        # Steps 1..8; 3, 6, 7 and 8 (the newest) hold NaN or Inf.
        $script:DivergedRun = @'
$dir = Join-Path $root 'run'
foreach ($step in 1..8) {
    # The comma keeps each array whole: a statement's output would unroll it into an object[] (no tensor).
    $w = if ($step -in 3, 6, 7, 8) { , [float[]]@($step, [float]::NaN) } else { , [float[]]@($step, 1) }
    [ordered]@{ w = $w; n = [int[]]@($step) } | Save-Checkpoint $dir -Step $step
}
'@
    }

    It '-Keep 2 -KeepFinite keeps the two newest finite steps, and the newest step survives though not finite' {
        $run = Invoke-Fresh ($DivergedRun + "`n" + @'
$summary = Remove-Checkpoint $dir -Keep 2 -KeepFinite -PassThru -WarningAction SilentlyContinue
"removed=$($summary.Removed.Step -join ',')"
"kept=$($summary.Kept -join ',')"
"steps=$((Get-CheckpointStep $dir) -join ',')"
'@)
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $run.Output | Should -Contain 'removed=1,2,3,6,7'
        $run.Output | Should -Contain 'kept=4,5,8'
        $run.Output | Should -Contain 'steps=4,5,8'
    }

    It 'without -KeepFinite, -Keep 2 keeps the two newest steps, NaN or not' {
        $run = Invoke-Fresh ($DivergedRun + "`n" + @'
Remove-Checkpoint $dir -Keep 2 -WarningAction SilentlyContinue
"steps=$((Get-CheckpointStep $dir) -join ',')"
'@)
        $run.Output | Should -Contain 'steps=7,8'
    }

    It '-KeepEvery 2 -KeepFinite keeps only the finite multiples, and the newest step' {
        $run = Invoke-Fresh ($DivergedRun + "`n" + @'
Remove-Checkpoint $dir -KeepEvery 2 -KeepFinite -WarningAction SilentlyContinue
"steps=$((Get-CheckpointStep $dir) -join ',')"
'@)
        $run.Output | Should -Contain 'steps=2,4,8'
    }

    It '-WhatIf plans the same removal and removes nothing; unattended runs never prompt' {
        $run = Invoke-Fresh ($DivergedRun + "`n" + @'
$plan = Remove-Checkpoint $dir -Keep 5 -KeepFinite -WhatIf -PassThru -WarningAction SilentlyContinue
"planned=$($plan.Removed.Step -join ',')"
"steps=$((Get-CheckpointStep $dir) -join ',')"
$ConfirmPreference = 'Medium'   # as strict as a job would set it; -Confirm:$false still states it
Remove-Checkpoint $dir -Keep 5 -KeepFinite -Confirm:$false -WarningAction SilentlyContinue
"after=$((Get-CheckpointStep $dir) -join ',')"
'@)
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        # Finite: 1, 2, 4, 5 (only four, so all are kept); the newest, 8, stays.
        $run.Output | Should -Contain 'planned=3,6,7'
        $run.Output | Should -Contain 'steps=1,2,3,4,5,6,7,8'
        $run.Output | Should -Contain 'after=1,2,4,5,8'
    }

    It '-KeepFinite without -Keep or -KeepEvery is refused with KeepFiniteWithoutKeep, and nothing is removed' {
        $run = Invoke-Fresh ($DivergedRun + "`n" + @'
try { Remove-Checkpoint $dir -KeepFinite -OlderThan (New-TimeSpan -Days 1) } catch { "a=$($_.FullyQualifiedErrorId)|$($_.CategoryInfo.Category)|$($_.Exception.GetType().Name)" }
try { Remove-Checkpoint $dir -KeepFinite } catch { "b=$($_.FullyQualifiedErrorId)" }
try { Remove-Checkpoint $dir -Step 1 -KeepFinite } catch { "c=$($_.FullyQualifiedErrorId)" }
"steps=$((Get-CheckpointStep $dir) -join ',')"
'@)
        $run.Output | Should -Contain 'a=KeepFiniteWithoutKeep,DataraxCkpt.Commands.RemoveCheckpointCommand|InvalidArgument|PSArgumentException'
        # Alone it is no rule at all; with -Step it belongs to no parameter set.
        $run.Output | Should -Contain 'b=NoRetentionRule,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $run.Output | Should -Contain 'c=AmbiguousParameterSet,DataraxCkpt.Commands.RemoveCheckpointCommand'
        $run.Output | Should -Contain 'steps=1,2,3,4,5,6,7,8'
    }
}

Describe 'Compare-Checkpoint -Numeric' {
    BeforeAll {
        # w: 1,2,3,4 -> 1,2.5,1,4; n (i32): 10,20 -> 10,26; b: unchanged; z: NaN in both at [1], NaN in step 2 only
        # at [2]; s changes shape; extra is added. Only w, n, b, z compare numerically.
        $script:TwoSteps = @'
$dir = Join-Path $root 'ck'
[ordered]@{ w = [float[]]@(1, 2, 3, 4); n = [int[]]@(10, 20); b = [float[]]@(1, 1); z = [double[]]@(1, [double]::NaN, 2); s = [float[]]@(1, 2, 3); h = [System.Half[]]@([System.Half]1, [System.Half]0) } | Save-Checkpoint $dir -Step 1
[ordered]@{ w = [float[]]@(1, 2.5, 1, 4); n = [int[]]@(10, 26); b = [float[]]@(1, 1); z = [double[]]@(1, [double]::NaN, [double]::NaN); s = [float[]]@(1, 2, 3, 4); h = [System.Half[]]@([System.Half]1.5, [System.Half]::NegativeZero); extra = [float[]]@(1) } | Save-Checkpoint $dir -Step 2
'@
        function Get-ExpectedDifference([double[]] $A, [double[]] $B) {
            $abs = for ($i = 0; $i -lt $A.Count; $i++) { [math]::Abs($A[$i] - $B[$i]) }
            $sumAbs = 0.0; foreach ($d in $abs) { $sumAbs += $d }
            $change = 0.0; foreach ($d in $abs) { $change += $d * $d }
            $norm = 0.0; foreach ($v in $A) { $norm += $v * $v }
            [pscustomobject]@{
                DifferentCount         = @($abs | Where-Object { $_ -ne 0 }).Count
                MaxAbsoluteDifference  = ($abs | Measure-Object -Maximum).Maximum
                MeanAbsoluteDifference = $sumAbs / $A.Count
                RelativeChange         = [math]::Sqrt($change) / [math]::Sqrt($norm)
            }
        }
    }

    It 'gives exact differences for tensors of equal shape and dtype, and leaves out the others' {
        $run = Invoke-Fresh ($TwoSteps + "`n" + @'
Compare-Checkpoint $dir 1 2 -Numeric | Export-Clixml (Join-Path $root 'out.xml') -Depth 4
'@)
        $differences = @(Import-FreshOutput $run)
        @($differences | ForEach-Object Item | Sort-Object) | Should -Be @('b', 'h', 'n', 'w', 'z')
        foreach ($d in $differences) {
            $d.StepBefore | Should -Be 1
            $d.StepAfter | Should -Be 2
        }
        $pairs = @{ w = @((1, 2, 3, 4), (1, 2.5, 1, 4)); n = @((10, 20), (10, 26)); b = @((1, 1), (1, 1)); h = @((1, 0), (1.5, [double]::NegativeZero)) }
        foreach ($name in $pairs.Keys) {
            $d = $differences | Where-Object Item -EQ $name
            $expected = Get-ExpectedDifference $pairs[$name][0] $pairs[$name][1]
            $d.Count | Should -Be $pairs[$name][0].Count -Because "$name.Count"
            $d.DifferentCount | Should -Be $expected.DifferentCount -Because "$name.DifferentCount"
            $d.MaxAbsoluteDifference | Should -Be $expected.MaxAbsoluteDifference -Because "$name.MaxAbsoluteDifference"
            Assert-Close $d.MeanAbsoluteDifference $expected.MeanAbsoluteDifference "$name.MeanAbsoluteDifference"
            Assert-Close $d.RelativeChange $expected.RelativeChange "$name.RelativeChange"
        }
        # Written out: w differs in 2 elements, by 0.5 and 2; ‖a−b‖/‖a‖ = sqrt(4.25/30). -0.0 equals 0.
        $w = $differences | Where-Object Item -EQ 'w'
        $w.DifferentCount | Should -Be 2
        $w.MaxAbsoluteDifference | Should -Be 2
        $w.MeanAbsoluteDifference | Should -Be 0.625
        Assert-Close $w.RelativeChange ([math]::Sqrt(4.25 / 30)) 'w.RelativeChange'
        ($differences | Where-Object Item -EQ 'h').DifferentCount | Should -Be 1
        ($differences | Where-Object Item -EQ 'n').DType | Should -Be 'i32'
        # NaN in both steps is unchanged; NaN in one step differs and makes the measures NaN.
        $z = $differences | Where-Object Item -EQ 'z'
        $z.DifferentCount | Should -Be 1
        [double]::IsNaN($z.MaxAbsoluteDifference) | Should -BeTrue
        $z.RelativeChange | Should -Be ([double]::PositiveInfinity)
    }

    It 'sorts a tensor that went NaN first: its RelativeChange is +Inf, not NaN (which Sort-Object puts last)' {
        $run = Invoke-Fresh ($TwoSteps + "`n" + @'
"first=$((Compare-Checkpoint $dir 1 2 -Numeric | Sort-Object RelativeChange -Descending | Select-Object -First 1).Item)"
Compare-Checkpoint $dir 1 2 -Numeric -Item z | ConvertTo-Json -Compress
'@)
        $run.Output | Should -Contain 'first=z'
        # As docs/inspection.md says: JSON has no NaN or infinity, so ConvertTo-Json writes strings.
        $json = $run.Output | Where-Object { $_ -like '{*' }
        $json | Should -Match '"MaxAbsoluteDifference":"NaN"'
        $json | Should -Match '"RelativeChange":"Infinity"'
    }

    It 'sorts by RelativeChange: the tensors that moved most come first' {
        $run = Invoke-Fresh ($TwoSteps + "`n" + @'
"order=$((Compare-Checkpoint $dir 1 2 -Numeric -Item w, n, b, h | Sort-Object RelativeChange -Descending | Select-Object -First 3).Name -join ',')"
'@)
        # h: 0.5/1 = 0.5; w: sqrt(4.25/30) = 0.376; n: 6/sqrt(500) = 0.268; b: 0.
        $run.Output | Should -Contain 'order=h,w,n'
    }

    It '-Item limits both comparisons to the matching leaves' {
        $run = Invoke-Fresh ($TwoSteps + "`n" + @'
"numeric=$((Compare-Checkpoint $dir 1 2 -Numeric -Item 'w', '?' | ForEach-Object Item | Sort-Object) -join ',')"
"structural=$((Compare-Checkpoint $dir 1 2 -Item 'e*', 's' | ForEach-Object Name | Sort-Object) -join ',')"
'@)
        $run.Output | Should -Contain 'numeric=b,h,n,w,z'
        $run.Output | Should -Contain 'structural=extra,s'
    }

    It 'shows a table with the steps, counts and compact numbers' {
        $run = Invoke-Fresh ($TwoSteps + "`n" + @'
Compare-Checkpoint $dir 1 2 -Numeric -Item w | Format-Table | Out-String -Width 200
'@)
        $lines = @($run.Output | Where-Object { $_ -match '\S' })
        ($lines | Where-Object { $_ -match '^\s*Steps' }) | Should -Match 'Steps\s+Item\s+DType\s+Shape\s+Count\s+Differ\s+MaxAbs\s+MeanAbs\s+Relative'
        ($lines | Where-Object { $_ -match '\bw\b' }) | Should -Match '1 -> 2\s+w\s+f32\s+\(4\)\s+4\s+2\s+2\s+0\.625\s+0\.3764'
    }

    It 'reports a missing step as StepNotFound' {
        $run = Invoke-Fresh ($TwoSteps + "`n" + @'
$ErrorActionPreference = 'Continue'
Compare-Checkpoint $dir 1 9 -Numeric -ErrorVariable e -ErrorAction SilentlyContinue
"a=$($e[0].FullyQualifiedErrorId)|$($e[0].CategoryInfo.Category)"
'@)
        $run.Output | Should -Contain 'a=StepNotFound,DataraxCkpt.Commands.CompareCheckpointCommand|ObjectNotFound'
    }

    It 'completes -Item from the leaves of the difference step' {
        $dir = Join-Path $TestDrive 'complete-numeric'
        @{ params = @{ alpha = [float[]]@(1) } } | Save-Checkpoint $dir -Step 1
        @{ params = @{ alpha = [float[]]@(1); beta = [float[]]@(2) } } | Save-Checkpoint $dir -Step 2
        $line = "Compare-Checkpoint -Path '$dir' 1 -DifferenceStep 2 -Numeric -Item params/b"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @("'params/beta'")
        $line = "Compare-Checkpoint -Path '$dir' 1 -DifferenceStep 1 -Numeric -Item params/"
        (TabExpansion2 -inputScript $line -cursorColumn $line.Length).CompletionMatches.CompletionText | Should -Be @("'params/alpha'")
    }
}
