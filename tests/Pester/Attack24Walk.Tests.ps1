# Attack on walk24 (runs of plain values written past the JSON writer): PowerShell states whose containers of 16+
# values mix plain values with PSCustomObjects, getters, nulls and escapes come back equal through the module, and
# a getter that changes a 16+-entry hashtable during the save is saved as it ends or refused.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Attack 24 on the walk''s runs through the module' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a24w-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'A PSCustomObject of 20 properties and hashtables of 17 entries broken by objects, nulls and escapes restore equal' {
        $o = [ordered]@{}
        foreach ($i in 0..19) { $o["p$i"] = $i }
        $o['p7'] = $null
        $o['p9'] = [pscustomobject]@{ inner = 1; list = @(1, $null, 'a"b', 2) }
        $o['p11'] = 'é'
        $o['p12'] = "tab`there"
        $obj = [pscustomobject]$o
        $obj | Add-Member -MemberType ScriptProperty -Name calc -Value { 42 }
        $h = [ordered]@{}
        foreach ($i in 0..16) { $h["k$i"] = if ($i % 2) { $null } else { [long]$i } }
        $h['k8'] = [pscustomobject]@{ x = 'y' }
        $h['a/b'] = 1.5
        $h["lone$([char]0xD800)"] = 'v'
        $list = [System.Collections.Generic.List[object]]::new()
        foreach ($i in 0..40) { $list.Add($(if ($i % 3 -eq 0) { [pscustomobject]@{ i = $i } } elseif ($i % 3 -eq 1) { $i } else { "s$i" })) }
        $state = @{ obj = $obj; h = $h; l = $list }
        $state | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.obj.p3 | Should -Be 3
        $r.obj.p7 | Should -BeNullOrEmpty
        $r.obj.p9.inner | Should -Be 1
        $r.obj.p9.list[2] | Should -BeExactly 'a"b'
        $r.obj.p11 | Should -BeExactly 'é'
        $r.obj.p12 | Should -BeExactly "tab`there"
        $r.obj.calc | Should -Be 42
        $r.obj.p19 | Should -Be 19
        $r.h['k16'] | Should -Be 16
        $r.h['k16'] | Should -BeOfType [long]
        $r.h['k15'] | Should -BeNullOrEmpty
        $r.h['k8'].x | Should -Be 'y'
        $r.h['a/b'] | Should -Be 1.5
        $r.h["lone$([char]0xD800)"] | Should -Be 'v'
        @($r.h.Keys) | Should -Be @($h.Keys)
        $r.l.Count | Should -Be 41
        $r.l[39].i | Should -Be 39
        $r.l[40] | Should -Be 40
        $r.l[38] | Should -BeExactly 's38'
        $r.l[37] | Should -Be 37
    }

    It 'A getter that adds a key to a 20-entry hashtable already walked is saved as it ends' {
        $h = @{}
        foreach ($i in 0..19) { $h["k$i"] = $i }
        $state = [ordered]@{ h = $h }
        $g = [pscustomobject]@{}
        $g | Add-Member -MemberType ScriptProperty -Name v -Value { if (-not $h.ContainsKey('late')) { $h['late'] = 'x' }; 1 }.GetNewClosure()
        $state['g'] = $g
        $state | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.h.Count | Should -Be 21
        $r.h['late'] | Should -Be 'x'
        $r.h['k19'] | Should -Be 19
    }
}
