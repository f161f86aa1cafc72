# Attack atk26b on eaab73a (the metadata comparer passed to the engine): sorted and other metadata dictionaries.
# Run in a fresh pwsh against the built module.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Attack26b: metadata dictionaries through Save-Checkpoint -Metadata' {
    It 'Attack26b a SortedDictionary or SortedList with its default ordering comparer is still accepted as metadata, keyed ordinally' {
        # FAILS on eaab73a (and since 190cd76): the default Comparer<K> of a SortedDictionary/SortedList[string|int,*]
        # is no IEqualityComparer, so it was refused as "not supported"; ea83da0 saved such metadata keyed ordinally.
        $out = Invoke-ModuleScenario @'
$s1 = [System.Collections.Generic.SortedDictionary[string, object]]::new(); $s1['a'] = 1; $s1['A'] = 2
$s2 = [System.Collections.Generic.SortedList[string, object]]::new(); $s2['a'] = 1; $s2['A'] = 2
$s3 = [System.Collections.Generic.SortedDictionary[int, string]]::new(); $s3[7] = 'seven'
$i = 0
foreach ($m in $s1, $s2, $s3) {
    $at = $ck + ($i++)
    try {
        $p = @{ x = 1 } | Save-Checkpoint $at -Metadata $m -PassThru
        $back = Restore-Checkpoint $at -MetadataOnly
        'saved ' + (($back.Keys | Sort-Object -CaseSensitive) -join ',') + ' A=' + $back['A'] + ' pA=' + $p.Metadata['A'] + ' n=' + $back.Count
    } catch { 'refused ' + $_ }
}
'@
        $out | Should -Be @('saved a,A A=2 pA=2 n=2', 'saved a,A A=2 pA=2 n=2', 'saved 7 A= pA= n=1')
    }

    It 'Attack26b a SortedDictionary with a case-insensitive StringComparer restores case-insensitive; a custom ordering comparer is refused, nothing written' {
        $out = Invoke-ModuleScenario @'
$m = [System.Collections.Generic.SortedDictionary[string, object]]::new([StringComparer]::OrdinalIgnoreCase); $m['Note'] = 'x'
@{ x = 1 } | Save-Checkpoint $ck -Metadata $m
'note=' + (Restore-Checkpoint $ck -MetadataOnly)['NOTE']
$c = [System.Collections.Generic.Comparer[string]]::Create([Comparison[string]] { param($a, $b) [string]::Compare($a, $b, [StringComparison]::OrdinalIgnoreCase) })
$m2 = [System.Collections.Generic.SortedDictionary[string, object]]::new($c); $m2['Note'] = 'x'
try { @{ x = 1 } | Save-Checkpoint ($ck + 'c') -Metadata $m2; 'saved' } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] }
'exists=' + (Test-Path ($ck + 'c'))
'@
        $out | Should -Be @('note=x', 'refused UnsupportedValue', 'exists=False')
    }

    It 'Attack26b a case-sensitive Hashtable and Dictionary with keys differing only by case keep both; 1 and ''1'' are refused, nothing written' {
        $out = Invoke-ModuleScenario @'
$h = [hashtable]::new(); $h['a'] = 1; $h['A'] = 2
$d = [System.Collections.Generic.Dictionary[string, int]]::new(); $d['a'] = 1; $d['A'] = 2
$i = 0
foreach ($m in $h, $d) {
    $at = $ck + ($i++)
    @{ x = 1 } | Save-Checkpoint $at -Metadata $m
    $r = (Get-Checkpoint $at)[-1].Metadata
    'n=' + $r.Count + ' a=' + $r['a'] + ' A=' + $r['A']
}
$o = @{}; $o[1] = 'int'; $o['1'] = 'text'
try { @{ x = 1 } | Save-Checkpoint ($ck + 'o') -Metadata $o; 'saved' } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] }
'exists=' + (Test-Path ($ck + 'o'))
'@
        $out | Should -Be @('n=2 a=1 A=2', 'n=2 a=1 A=2', 'refused UnsupportedValue', 'exists=False')
    }

    It 'Attack26b under tr-TR, @{} metadata stays ordinal-ignore-case and a CurrentCultureIgnoreCase one restores as tr-TR in en-US' {
        $out = Invoke-ModuleScenario @'
[cultureinfo]::CurrentCulture = 'tr-TR'
@{ x = 1 } | Save-Checkpoint $ck -Metadata @{ Title = 't' }
$m = [hashtable]::new([StringComparer]::CurrentCultureIgnoreCase); $m['i'] = 'dotted'; $m['I'] = 'dotless-upper'
@{ x = 1 } | Save-Checkpoint ($ck + 't') -Metadata $m
[cultureinfo]::CurrentCulture = 'en-US'
'title=' + (Restore-Checkpoint $ck -MetadataOnly)['TITLE']
$r = Restore-Checkpoint ($ck + 't') -MetadataOnly
'n=' + $r.Count + ' i=' + $r['i'] + ' I=' + $r['I'] + ' İ=' + $r['İ']
'@
        $out | Should -Be @('title=t', 'n=2 i=dotted I=dotless-upper İ=dotted')
    }

    It 'Attack26b metadata whose comparer is not a Comparer property (ReadOnlyDictionary, ImmutableDictionary, HybridDictionary, SortedList) is not restored case-sensitive when it was case-insensitive' {
        # FAILS on eaab73a (and ea83da0): a dictionary type without a readable Comparer property was keyed ordinally,
        # so a case-insensitive ReadOnlyDictionary/ImmutableDictionary/HybridDictionary/SortedList restored case-sensitive.
        $out = Invoke-ModuleScenario @'
Add-Type -AssemblyName System.Collections.Immutable
$inner = [System.Collections.Generic.Dictionary[string, object]]::new([StringComparer]::OrdinalIgnoreCase); $inner['Note'] = 'x'
$ro = [System.Collections.ObjectModel.ReadOnlyDictionary[string, object]]::new($inner)
$im = [System.Collections.Immutable.ImmutableDictionary]::Create[string, object]([StringComparer]::OrdinalIgnoreCase).Add('Note', 'x')
$plain = [System.Collections.Generic.Dictionary[string, object]]::new(); $plain['Note'] = 'x'; $plain['NOTE'] = 'y'
$roPlain = [System.Collections.ObjectModel.ReadOnlyDictionary[string, object]]::new($plain)
$i = 0
foreach ($m in $ro, $im, $roPlain) {
    $at = $ck + ($i++)
    @{ x = 1 } | Save-Checkpoint $at -Metadata $m
    $r = Restore-Checkpoint $at -MetadataOnly
    'n=' + $r.Count + ' note=' + $r['note'] + ' NOTE=' + $r['NOTE']
}
$hy = [System.Collections.Specialized.HybridDictionary]::new($true); $hy['Note'] = 'x'
$sl = [System.Collections.SortedList]::new([System.Collections.CaseInsensitiveComparer]::DefaultInvariant); $sl['Note'] = 'x'
foreach ($m in $hy, $sl) {
    $at = $ck + ($i++)
    try { @{ x = 1 } | Save-Checkpoint $at -Metadata $m; 'saved note=' + (Restore-Checkpoint $at -MetadataOnly)['note'] } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] }
    'exists=' + (Test-Path $at)
}
$plainSorted = [System.Collections.SortedList]::new(); $plainSorted['Note'] = 'x'; $plainSorted['NOTE'] = 'y'
@{ x = 1 } | Save-Checkpoint ($ck + 'p') -Metadata $plainSorted
'plain n=' + (Restore-Checkpoint ($ck + 'p') -MetadataOnly).Count
'@
        $out | Should -Be @('n=1 note=x NOTE=x', 'n=1 note=x NOTE=x', 'n=2 note= NOTE=y',
            'refused UnsupportedValue', 'exists=False', 'refused UnsupportedValue', 'exists=False', 'plain n=2')
    }

    It 'Attack26b a current-culture comparer under a culture that is not predefined (zz-ZZ) is refused at save, not saved unrestorable' {
        # FAILS on eaab73a (and ea83da0): current-ic:zz-ZZ was recorded, and every restore of the step, even on the
        # saving machine, failed with "the key comparer's culture 'zz-ZZ' is not available" (step reported corrupt).
        $out = Invoke-ModuleScenario @'
[cultureinfo]::CurrentCulture = [cultureinfo]::new('zz-ZZ')
$m = [hashtable]::new([StringComparer]::CurrentCultureIgnoreCase); $m['Note'] = 'x'
$d = [System.Collections.Generic.Dictionary[string, object]]::new([StringComparer]::CurrentCulture); $d['k'] = 1
$i = 0
foreach ($case in @{ s = 1; m = $m }, @{ s = @{ d = $d }; m = $null }) {
    $at = $ck + ($i++)
    try { Save-Checkpoint $at -InputObject $case.s -Metadata $case.m; 'saved'; $null = Restore-Checkpoint $at; 'restored' } catch { 'refused ' + $_.FullyQualifiedErrorId.Split(',')[0] + ' culture-named=' + ($_.Exception.Message -like '*zz-ZZ*') }
    'exists=' + (Test-Path $at)
}
[cultureinfo]::CurrentCulture = 'tr-TR'
$t = [hashtable]::new([StringComparer]::CurrentCultureIgnoreCase); $t['I'] = 1
Save-Checkpoint ($ck + 't') -InputObject 1 -Metadata $t
'tr restored=' + (Restore-Checkpoint ($ck + 't') -MetadataOnly)['ı']
'@
        $out | Should -Be @('refused UnsupportedValue culture-named=True', 'exists=False', 'refused UnsupportedValue culture-named=True', 'exists=False', 'tr restored=1')
    }
}
