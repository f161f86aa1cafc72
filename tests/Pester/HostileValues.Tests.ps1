# Findings of a hostile review of issue 10 items 4-8 and issue 11 item 1, as a PowerShell user meets
# them: keys that collide or differ only by case must never lose a value silently. Run in a fresh pwsh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Keys that collide never lose a value silently' {
    It 'an ordinal hashtable with keys A and a keeps both, in the state and in -Metadata' {
        $out = Invoke-ModuleScenario @'
$t = [hashtable]::new([StringComparer]::Ordinal); $t['A'] = 1; $t['a'] = 2
$m = [hashtable]::new([StringComparer]::Ordinal); $m['K'] = 'upper'; $m['k'] = 'lower'
@{ t = $t } | Save-Checkpoint $ck -Metadata $m
$r = Restore-Checkpoint $ck
'state=' + $r.t.Count + ',' + $r.t['A'] + ',' + $r.t['a']
$meta = Restore-Checkpoint $ck -MetadataOnly
'meta=' + $meta.Count + ',' + $meta['K'] + ',' + $meta['k']
'@
        $out | Should -Contain 'state=2,1,2'
        $out | Should -Contain 'meta=2,upper,lower'
    }

    It '-Metadata with keys 1 and ''1'' (the same metadata key) is refused, not merged' {
        $out = Invoke-ModuleScenario @'
$m = @{}; $m[1] = 'int'; $m['1'] = 'string'
try {
    @{ a = 1 } | Save-Checkpoint $ck -Metadata $m -ErrorAction Stop
    'saved'
} catch {
    'error=' + $_.FullyQualifiedErrorId + ' category=' + $_.CategoryInfo.Category
}
'steps=' + @(Get-ChildItem -LiteralPath $ck -Directory -ErrorAction SilentlyContinue | Where-Object Name -match '^\d+$').Count
'@
        $out | Should -Contain 'error=UnsupportedValue,DataraxCkpt.Commands.SaveCheckpointCommand category=InvalidArgument'
        $out | Should -Contain 'steps=0'
    }
}

Describe 'Get-CheckpointItem -Name and Restore-Checkpoint -Item read a pattern alike' {
    It 'a name with brackets (w[0]) is found by both, where * and ? are the only wildcards' {
        $out = Invoke-ModuleScenario @'
@{ 'w[0]' = 1; w0 = 2 } | Save-Checkpoint $ck
'items=' + (@(Get-CheckpointItem $ck -Name 'w[0]' | ForEach-Object Name) -join ',')
'restored=' + (@((Restore-Checkpoint $ck -Item 'w[0]').Keys) -join ',')
'@
        $out | Should -Contain 'restored=w[0]'
        $out | Should -Contain 'items=w[0]'
    }
}
