# Lists of numbers are stored as one tensor each (issue 17, docs/format.md §6.5) and come back as the same
# container holding the same numbers of the same type. Run in a fresh pwsh against the built module, as a
# user would meet it.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Numeric lists saved from PowerShell' {
    It '@{ xs = 1..1000 } is one tensor item xs and restores as object[] of [int], element for element' {
        $out = Invoke-ModuleScenario @'
@{ xs = 1..1000 } | Save-Checkpoint $ck
$items = @(Get-CheckpointItem $ck)
'items=' + $items.Count + ' name=' + $items[0].Name + ' kind=' + $items[0].Kind + ' dtype=' + $items[0].DType + ' shape=' + ($items[0].Shape -join ',')
$r = Restore-Checkpoint $ck
'type=' + $r.xs.GetType().FullName + ' count=' + $r.xs.Count
'elementTypes=' + (@($r.xs | ForEach-Object { $_.GetType().Name } | Sort-Object -Unique) -join ',')
'equal=' + ((Compare-Object (1..1000) $r.xs -SyncWindow 0).Count -eq 0)
'@
        $out | Should -Contain 'items=1 name=xs kind=tensor dtype=i32 shape=1000'
        $out | Should -Contain 'type=System.Object[] count=1000'
        $out | Should -Contain 'elementTypes=Int32'
        $out | Should -Contain 'equal=True'
    }

    It 'keeps [double] NaN and -0.0, [long], [single] and [byte] bit for bit, in object[], ArrayList and List[object]' {
        $out = Invoke-ModuleScenario @'
$d = [object[]]@([double]::NaN, -0.0, 1.5, [double]::NegativeInfinity) * 5
$state = [ordered]@{
    doubles = $d
    longs = [System.Collections.ArrayList]::new([object[]](1..20 | ForEach-Object { [long]::MaxValue - $_ }))
    singles = [System.Collections.Generic.List[object]]::new([object[]](1..20 | ForEach-Object { [single]($_ / 3) }))
    bytes = [object[]](0..255 | ForEach-Object { [byte]$_ })
    typed = [System.Collections.Generic.List[double]]::new([double[]](-0.0, [double]::NaN))
}
Save-Checkpoint $ck -InputObject $state
$r = Restore-Checkpoint $ck
foreach ($name in $state.Keys) {
    $a = $state[$name]; $b = $r[$name]
    $same = $a.Count -eq $b.Count
    for ($i = 0; $i -lt $a.Count; $i++) {
        $x = $a[$i]; $y = $b[$i]
        if ($x.GetType() -ne $y.GetType()) { $same = $false }
        elseif ($x -is [double]) { if ([BitConverter]::DoubleToInt64Bits($x) -ne [BitConverter]::DoubleToInt64Bits($y)) { $same = $false } }
        elseif ($x -is [single]) { if ([BitConverter]::SingleToInt32Bits($x) -ne [BitConverter]::SingleToInt32Bits($y)) { $same = $false } }
        elseif ($x -ne $y) { $same = $false }
    }
    "$name=" + $b.GetType().Name + '/' + $b[0].GetType().Name + '/' + $same
}
'kinds=' + ((Get-CheckpointItem $ck | ForEach-Object { $_.Name + ':' + $_.Kind }) -join ',')
'@
        $out | Should -Contain 'doubles=Object[]/Double/True'
        $out | Should -Contain 'longs=ArrayList/Int64/True'
        $out | Should -Contain 'singles=List`1/Single/True'
        $out | Should -Contain 'bytes=Object[]/Byte/True'
        $out | Should -Contain 'typed=List`1/Double/True'
        $out | Should -Contain 'kinds=doubles:tensor,longs:tensor,singles:tensor,bytes:tensor,typed:tensor'
    }

    It 'stores short and mixed lists element by element, as before' {
        $out = Invoke-ModuleScenario @'
@{ few = @(1, 2, 3); mixed = @(1..20) + @(2.5) } | Save-Checkpoint $ck
$names = @(Get-CheckpointItem $ck | ForEach-Object Name)
'few=' + ($names -contains 'few/2') + ' mixed=' + ($names -contains 'mixed/20')
$r = Restore-Checkpoint $ck
'mixedLast=' + $r.mixed[20].GetType().Name + ' mixedFirst=' + $r.mixed[0].GetType().Name
'@
        $out | Should -Contain 'few=True mixed=True'
        $out | Should -Contain 'mixedLast=Double mixedFirst=Int32'
    }

    It 'selects the list by its name in -Item, statistics and numeric comparison' {
        $out = Invoke-ModuleScenario @'
@{ xs = (1..100 | ForEach-Object { [double]$_ }); k = 'a' } | Save-Checkpoint $ck -Step 1
@{ xs = (1..100 | ForEach-Object { [double]$_ * 2 }); k = 'a' } | Save-Checkpoint $ck -Step 2
$part = Restore-Checkpoint $ck -Step 1 -Item xs
'part=' + (@($part.Keys) -join ',') + ' count=' + $part.xs.Count
$s = Get-CheckpointItem $ck -Step 1 -Name xs -Statistics
'stats=' + $s.Item + ' ' + $s.Count + ' ' + $s.Min + ' ' + $s.Max
$d = Compare-Checkpoint $ck 1 2 -Numeric
'numeric=' + $d.Item + ' ' + $d.DifferentCount + ' ' + $d.MaxAbsoluteDifference
'@
        $out | Should -Contain 'part=xs count=100'
        $out | Should -Contain 'stats=xs 100 1 100'
        $out | Should -Contain 'numeric=xs 100 100'
    }

    It 'Restore-Checkpoint -Into fills a list of the same length and refuses another length naming the item' {
        $out = Invoke-ModuleScenario @'
@{ xs = 1..50; n = 5 } | Save-Checkpoint $ck
$state = @{ xs = [object[]]::new(50); n = 0 }
Restore-Checkpoint $ck -Into $state | Out-Null
'filled=' + ($state.xs[49]) + ' ' + $state.xs[0].GetType().Name + ' n=' + $state.n
$short = @{ xs = [object[]]::new(3); n = 0 }
try { Restore-Checkpoint $ck -Into $short | Out-Null; 'no error' }
catch { 'error=' + $_.FullyQualifiedErrorId.Split(',')[0] + ' item=' + $_.Exception.Item + ' n=' + $short.n }
'@
        $out | Should -Contain 'filled=50 Int32 n=5'
        $out | Should -Contain 'error=IncompatibleState item=xs n=0'
    }
}
