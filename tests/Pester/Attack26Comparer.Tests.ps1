# Attack on 70ae79a (atk26): key comparers through the cmdlets. A restored dictionary has the saved one's key
# equality, or the save is refused with nothing written. Run in a fresh pwsh against the built module.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')

    # Two comparers a PowerShell user could write: an honest case-insensitive one and one whose Equals claims to
    # be equal to any comparer (the default, Ordinal).
    $script:Comparers = @'
class Attack26CaseBlind : System.Collections.Generic.IEqualityComparer[string] {
    [bool] Equals([string] $x, [string] $y) { return [string]::Equals($x, $y, [StringComparison]::OrdinalIgnoreCase) }
    [int] GetHashCode([string] $s) { return [StringComparer]::OrdinalIgnoreCase.GetHashCode($s) }
}
class Attack26Liar : System.Collections.Generic.IEqualityComparer[string] {
    [bool] Equals([string] $x, [string] $y) { return [string]::Equals($x, $y, [StringComparison]::OrdinalIgnoreCase) }
    [int] GetHashCode([string] $s) { return [StringComparer]::OrdinalIgnoreCase.GetHashCode($s) }
    [bool] Equals([object] $o) { return $true }
    [int] GetHashCode() { return 0 }
}
'@

    function Invoke-Scenario([string] $Body) { Invoke-ModuleScenario -Prelude $script:Comparers -Body $Body }
}

Describe 'Attack26: comparers through the cmdlets' {
    It 'Attack26 @{} and nested [ordered] come back case-insensitive; a default and an ordinal Dictionary[string,object] stay case-sensitive' {
        $out = Invoke-Scenario @'
$d0 = New-Object 'System.Collections.Generic.Dictionary[string,object]'; $d0['a'] = 1; $d0['A'] = 2
$d1 = New-Object 'System.Collections.Generic.Dictionary[string,object]' ([StringComparer]::Ordinal); $d1['a'] = 1; $d1['A'] = 2
$di = New-Object 'System.Collections.Generic.Dictionary[string,object]' ([StringComparer]::OrdinalIgnoreCase); $di['Lr'] = 1
@{ Lr = 1; n = [ordered]@{ Bb = 2 }; d0 = $d0; d1 = $d1; di = $di } | Save-Checkpoint $ck
$r = Restore-Checkpoint $ck
'LR=' + $r['LR'] + ' BB=' + $r['N']['BB'] + ' d0=' + $r.d0.Count + ($r.d0.Contains('B')) + ' d1=' + $r.d1.Count + ' di=' + $r.di['LR']
'@
        $out | Should -Contain 'LR=1 BB=2 d0=2False d1=2 di=1'
    }

    It 'Attack26 a custom comparer whose Equals claims the default is refused, nothing written' {
        $out = Invoke-Scenario @'
$d = [System.Collections.Generic.Dictionary[string, object]]::new([Attack26Liar]::new()); $d['Lr'] = 1
try { @{ d = $d } | Save-Checkpoint $ck; 'saved' } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] }
'exists=' + (Test-Path $ck)
'@
        $out | Should -Contain 'refused UnsupportedValue'
        $out | Should -Contain 'exists=False'
    }

    It 'Attack26 metadata with a custom case-insensitive comparer is refused, not saved case-sensitive' {
        $out = Invoke-Scenario @'
foreach ($c in [Attack26CaseBlind]::new(), [Attack26Liar]::new()) {
    $m = [System.Collections.Generic.Dictionary[string, object]]::new($c); $m['Note'] = 'x'
    $at = $ck + $c.GetType().Name
    try { @{ a = 1 } | Save-Checkpoint $at -Metadata $m; 'saved note=' + (Restore-Checkpoint $at -MetadataOnly).Contains('note') } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] }
    'exists=' + (Test-Path $at)
}
'@
        @($out | Where-Object { $_ -eq 'refused UnsupportedValue' }).Count | Should -Be 2 -Because ($out -join "`n")
        $out | Should -Not -Contain 'exists=True'
    }
}

Describe 'Attack26 (lead review): metadata of other key types after the comparer fix' {
    It 'Attack26 metadata given as a Dictionary[int,string] or Dictionary[object,object] with default comparers is still saved, keyed by text' {
        # FAILS on 190cd76: the metadata's comparer went to the engine only when it compared strings; the default
        # comparer of an int- or object-keyed dictionary was refused as "not supported", which 1b9b23b's parent saved.
        $out = Invoke-Scenario @'
$byInt = [System.Collections.Generic.Dictionary[int, string]]::new(); $byInt[7] = 'seven'
$byObject = [System.Collections.Generic.Dictionary[object, object]]::new(); $byObject['Note'] = 'x'
$i = 0
foreach ($m in $byInt, $byObject) {
    $at = $ck + ($i++)
    try { @{ a = 1 } | Save-Checkpoint $at -Metadata $m; $back = Restore-Checkpoint $at -MetadataOnly; 'saved ' + ($back.Keys -join ',') + ' note-ic=' + $back.Contains('note') } catch { 'refused ' + $_ }
}
'@
        $out | Should -Contain 'saved 7 note-ic=False' -Because ($out -join "`n")
        $out | Should -Contain 'saved Note note-ic=False' -Because ($out -join "`n")
    }
}

Describe 'Attack26 (lead review): a custom comparer on metadata keys of another type' {
    It 'Attack26 metadata as a Dictionary[int,string] with a custom comparer is refused, nothing written' {
        # Its keys become text, where the comparer means nothing: saving it ordinally would merge or split keys the
        # user's comparer did not.
        $out = Invoke-Scenario @'
class Attack26Mod10 : System.Collections.Generic.IEqualityComparer[int] {
    [bool] Equals([int] $x, [int] $y) { return ($x % 10) -eq ($y % 10) }
    [int] GetHashCode([int] $n) { return $n % 10 }
}
$m = [System.Collections.Generic.Dictionary[int, string]]::new([Attack26Mod10]::new()); $m[7] = 'seven'
try { @{ a = 1 } | Save-Checkpoint $ck -Metadata $m; 'saved' } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] }
'exists=' + (Test-Path $ck)
'@
        $out | Should -Contain 'refused UnsupportedValue' -Because ($out -join "`n")
        $out | Should -Contain 'exists=False'
    }
}
