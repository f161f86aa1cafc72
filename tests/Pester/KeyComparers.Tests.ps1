# Restored @{} and [ordered] states and metadata keep PowerShell's case-insensitive keys (issue 11 item 1),
# and every container comes back as its own type or is refused at save (issue 10 item 5). Run in a fresh
# pwsh against the built module, as a user would meet it.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Restored hashtables are case-insensitive, as PowerShell users expect' {
    It '(Restore-Checkpoint ./ck).Position finds the key saved as position' {
        $out = Invoke-ModuleScenario @'
@{ position = 42 } | Save-Checkpoint ./ck
'Position=' + (Restore-Checkpoint ./ck).Position
'POSITION=' + (Restore-Checkpoint ./ck)['POSITION']
'@
        $out | Should -Contain 'Position=42'
        $out | Should -Contain 'POSITION=42'
    }

    It '$r.lr = 2 on a restored @{Lr=1} replaces the value, and a re-save keeps one key' {
        $out = Invoke-ModuleScenario @'
@{ Lr = 1 } | Save-Checkpoint $ck -Step 0
$r = Restore-Checkpoint $ck
$r.lr = 2
'count=' + $r.Count
$r | Save-Checkpoint $ck -Step 1
$again = Restore-Checkpoint $ck -Step 1
'keys=' + (@($again.Keys) -join ',') + ' value=' + $again.LR
'@
        $out | Should -Contain 'count=1'
        $out | Should -Contain 'keys=Lr value=2'
    }

    It '[ordered] and nested hashtables keep their order and are case-insensitive' {
        $out = Invoke-ModuleScenario @'
[ordered]@{ Zeta = 1; Model = @{ Layers = 3; Inner = [ordered]@{ Rate = 0.5 } } } | Save-Checkpoint $ck
$r = Restore-Checkpoint $ck
'type=' + $r.GetType().Name + ' keys=' + (@($r.Keys) -join ',')
'layers=' + $r.model.LAYERS + ' rate=' + $r.MODEL.inner.rate
'@
        $out | Should -Contain 'type=OrderedDictionary keys=Zeta,Model'
        $out | Should -Contain 'layers=3 rate=0.5'
    }

    It 'metadata is case-insensitive from Restore-Checkpoint -MetadataOnly and Get-Checkpoint' {
        $out = Invoke-ModuleScenario @'
@{ a = 1 } | Save-Checkpoint $ck -Metadata @{ Description = 'best run'; Score = 0.9 }
'meta=' + (Restore-Checkpoint $ck -MetadataOnly).description
'info=' + (Get-Checkpoint $ck).Metadata.SCORE
'@
        $out | Should -Contain 'meta=best run'
        $out | Should -Contain 'info=0.9'
    }

    It 'a case-sensitive (ordinal) dictionary from .NET comes back as an ordered dictionary that stays case-sensitive' {
        $out = Invoke-ModuleScenario @'
$d = [System.Collections.Generic.Dictionary[string, object]]::new([StringComparer]::Ordinal)
$d['a'] = 1
$d['A'] = 2
Save-Checkpoint $ck -InputObject $d
$r = Restore-Checkpoint $ck
'type=' + $r.GetType().Name + ' count=' + $r.Count + ' a=' + $r['a'] + ' A=' + $r['A']
'@
        $out | Should -Contain 'type=OrderedDictionary count=2 a=1 A=2'
    }
}

Describe 'Containers come back as their own type or are refused at save' {
    It 'an ArrayList comes back as an ArrayList' {
        $out = Invoke-ModuleScenario @'
$list = [System.Collections.ArrayList]::new()
[void]$list.Add(1); [void]$list.Add('two')
@{ list = $list } | Save-Checkpoint $ck
$r = Restore-Checkpoint $ck
'type=' + $r.list.GetType().Name + ' items=' + ($r.list -join ',')
'@
        $out | Should -Contain 'type=ArrayList items=1,two'
    }

    It 'a SortedDictionary is refused with UnsupportedValue naming its path, and nothing is written' {
        $out = Invoke-ModuleScenario @'
$sorted = [System.Collections.Generic.SortedDictionary[string, int]]::new()
$sorted['b'] = 1
@{ model = @{ table = $sorted } } | Save-Checkpoint $ck -ErrorAction SilentlyContinue -ErrorVariable e
'id=' + $e[0].FullyQualifiedErrorId
'category=' + $e[0].CategoryInfo.Category
'path=' + ($e[0].Exception.Message -match 'state\.model\.table')
'written=' + (Test-Path $ck)
'@
        $out | Should -Contain 'id=UnsupportedValue,DataraxCkpt.Commands.SaveCheckpointCommand'
        $out | Should -Contain 'category=InvalidArgument'
        $out | Should -Contain 'path=True'
        $out | Should -Contain 'written=False'
    }

    It '-Item wildcards still select ordinary names' {
        $out = Invoke-ModuleScenario @'
@{ params = @{ dense = @{ kernel = [float[]](1, 2); bias = [float[]](0) } } } | Save-Checkpoint $ck
$r = Restore-Checkpoint $ck -Item 'params/*/kernel'
'names=' + (@($r.Keys) -join ',')
'@
        $out | Should -Contain 'names=params/dense/kernel'
    }
}
