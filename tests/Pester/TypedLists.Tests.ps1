# Typed lists and arrays ([List[hashtable]], [hashtable[]], [List[OrderedDictionary]] ...) whose items hold a
# PSCustomObject (the Known gap of session 20, attack round 4; closed by typedlists22). Such a list is copied into a list
# of its own type around its converted items, is saved, and comes back as that same typed container, its items holding the
# PSCustomObjects again; a typed list whose items need no conversion still goes to the engine as the user's own instance.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    # Loads the engine, so the conversion types can be reached.
    $null = Get-CheckpointStep (Join-Path $TestDrive 'none') -ErrorAction SilentlyContinue

    $cmdlets = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'DataraxCkpt.Cmdlets' } | Select-Object -First 1
    $flags = [Reflection.BindingFlags]'Public,Static'
    $script:ToEngine = $cmdlets.GetType('DataraxCkpt.Commands.Conversion.StateToEngine', $true).GetMethod('Convert', $flags, $null,
        [type[]]@([object], [System.Collections.IDictionary], [System.Collections.Generic.Dictionary[string, object]].MakeByRefType()), $null)
    function script:ConvertTo-EngineValue($State) { $a = [object[]]::new(3); $a[0] = $State; $ToEngine.Invoke($null, $a) }

    function script:New-HashtableList {
        $list = [System.Collections.Generic.List[hashtable]]::new()
        foreach ($item in $args) { $list.Add($item) }
        , $list
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Typed lists and arrays whose items hold PSCustomObjects are saved and restored as their own type' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-tl-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'List[hashtable], hashtable[], List[OrderedDictionary], List[ArrayList], hashtable[][], List[List[object]], List[Dictionary[string,object]] and Dictionary[int,object][] come back as that type, the PSCustomObject inside' {
        $ordered = [System.Collections.Generic.List[System.Collections.Specialized.OrderedDictionary]]::new()
        $ordered.Add([ordered]@{ p = [pscustomobject]@{ a = 3 } })
        $arrayLists = [System.Collections.Generic.List[System.Collections.ArrayList]]::new()
        $arrayLists.Add([System.Collections.ArrayList]@(1, [pscustomobject]@{ a = 4 }))
        $jagged = [hashtable[][]]::new(1)
        $jagged[0] = [hashtable[]]@(@{ p = [pscustomobject]@{ a = 5 } })
        $lists = [System.Collections.Generic.List[System.Collections.Generic.List[object]]]::new()
        $inner = [System.Collections.Generic.List[object]]::new(); $inner.Add([pscustomobject]@{ a = 6 }); $lists.Add($inner)
        $dicts = [System.Collections.Generic.List[System.Collections.Generic.Dictionary[string, object]]]::new()
        $d = [System.Collections.Generic.Dictionary[string, object]]::new(); $d['p'] = [pscustomobject]@{ a = 7 }; $dicts.Add($d)
        $intDicts = [System.Collections.Generic.Dictionary[int, object][]]::new(1)
        $intDicts[0] = [System.Collections.Generic.Dictionary[int, object]]::new(); $intDicts[0][0] = [pscustomobject]@{ a = 8 }
        $state = [ordered]@{
            l = New-HashtableList @{ p = [pscustomobject]@{ a = 1 } } @{ n = 2 }
            h = [hashtable[]]@(@{ p = [pscustomobject]@{ a = 2 } })
            o = $ordered; al = $arrayLists; j = $jagged; ll = $lists; ds = $dicts; id = $intDicts
        }
        $state | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        foreach ($k in $state.Keys) { $r[$k].GetType() | Should -Be $state[$k].GetType() -Because "state.$k keeps its type" }
        $r.l[0].p | Should -BeOfType [pscustomobject]
        $r.l[0].p.a | Should -Be 1
        $r.l[1].n | Should -Be 2
        $r.h[0].p | Should -BeOfType [pscustomobject]
        $r.h[0].p.a | Should -Be 2
        $r.o[0].p.a | Should -Be 3
        $r.al[0][1].a | Should -Be 4
        $r.j[0].GetType() | Should -Be ([hashtable[]])
        $r.j[0][0].p.a | Should -Be 5
        $r.ll[0][0].a | Should -Be 6
        $r.ds[0].GetType() | Should -Be ([System.Collections.Generic.Dictionary[string, object]])
        $r.ds[0]['p'] | Should -BeOfType [pscustomobject]
        $r.ds[0]['p'].a | Should -Be 7
        $r.id[0][0] | Should -BeOfType [pscustomobject]
        $r.id[0][0].a | Should -Be 8
    }

    It 'A PSCustomObject in a hashtable in a hashtable[] in a List[object], and a hashtable[] in a PSCustomObject in a List[hashtable], round trip' {
        $outer = [System.Collections.Generic.List[object]]::new()
        $outer.Add([hashtable[]]@(@{ p = [pscustomobject]@{ a = 1; tags = @('x', 'y') } }, @{ q = 2 }))
        $deep = New-HashtableList @{ o = [pscustomobject]@{ hs = [hashtable[]]@(@{ p = [pscustomobject]@{ b = 2 } }) } }
        @{ outer = $outer; deep = $deep } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.outer.GetType() | Should -Be ([System.Collections.Generic.List[object]])
        $r.outer[0].GetType() | Should -Be ([hashtable[]])
        $r.outer[0][0].p | Should -BeOfType [pscustomobject]
        $r.outer[0][0].p.a | Should -Be 1
        $r.outer[0][0].p.tags | Should -Be @('x', 'y')
        $r.outer[0][1].q | Should -Be 2
        $r.deep.GetType() | Should -Be ([System.Collections.Generic.List[hashtable]])
        $r.deep[0].o | Should -BeOfType [pscustomobject]
        $r.deep[0].o.hs.GetType() | Should -Be ([hashtable[]])
        $r.deep[0].o.hs[0].p.b | Should -Be 2
    }

    It 'The user''s typed list is not changed by the save (the copy is the engine''s)' {
        $o = [pscustomobject]@{ a = 1 }
        $array = [hashtable[]]@(@{ p = $o })
        $before = $array[0]
        @{ h = $array } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        [object]::ReferenceEquals($array[0], $before) | Should -BeTrue
        [object]::ReferenceEquals($array[0].p, $o) | Should -BeTrue
    }

    It 'A typed list in -Metadata reads with its PSCustomObjects from Restore -MetadataOnly, Get-Checkpoint and Save -PassThru' {
        $meta = @{ runs = [hashtable[]]@(@{ cfg = [pscustomobject]@{ lr = 0.1 } }); list = New-HashtableList @{ cfg = [pscustomobject]@{ lr = 0.2 } } }
        $saved = @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -Metadata $meta -PassThru
        $m = Restore-Checkpoint -LiteralPath $script:dir -Step 1 -MetadataOnly
        foreach ($view in $m, (Get-Checkpoint -LiteralPath $script:dir -Step 1).Metadata, $saved.Metadata) {
            $view.runs.GetType() | Should -Be ([hashtable[]])
            $view.runs[0].cfg | Should -BeOfType [pscustomobject]
            $view.runs[0].cfg.lr | Should -Be 0.1
            $view.list.GetType() | Should -Be ([System.Collections.Generic.List[hashtable]])
            $view.list[0].cfg.lr | Should -Be 0.2
        }
    }
}

Describe 'Restore-Checkpoint -Into a state whose typed lists hold PSCustomObjects' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-tli-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'fills the template''s own typed list, hashtables and PSCustomObjects (identity kept), and sets a PSCustomObject an item lacks' {
        $saved = [ordered]@{
            l = New-HashtableList @{ p = [pscustomobject]@{ a = 1; w = [float[]](1, 2) }; n = 5 }
            h = [hashtable[]]@(@{ p = [pscustomobject]@{ a = 2 } }, @{ q = [pscustomobject]@{ b = 3 } })
        }
        $saved | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $w = [float[]](0, 0)
        $p = [pscustomobject]@{ a = 0; w = $w }
        $item = @{ p = $p; n = 0 }
        $second = @{}
        $template = [ordered]@{ l = New-HashtableList $item; h = [hashtable[]]@(@{ p = [pscustomobject]@{ a = 0 } }, $second) }
        $list = $template.l
        $array = $template.h
        $out = Restore-Checkpoint -LiteralPath $script:dir -Step 1 -Into $template
        [object]::ReferenceEquals($out, $template) | Should -BeTrue
        [object]::ReferenceEquals($template.l, $list) | Should -BeTrue
        [object]::ReferenceEquals($template.h, $array) | Should -BeTrue
        [object]::ReferenceEquals($template.l[0], $item) | Should -BeTrue
        [object]::ReferenceEquals($template.l[0].p, $p) | Should -BeTrue
        $p.a | Should -Be 1
        $item.n | Should -Be 5
        [object]::ReferenceEquals($p.w, $w) | Should -BeTrue
        $w | Should -Be @(1, 2)
        $template.h[0].p.a | Should -Be 2
        [object]::ReferenceEquals($template.h[1], $second) | Should -BeTrue
        $second.q | Should -BeOfType [pscustomobject]
        $second.q.b | Should -Be 3
    }
}

Describe 'A typed list whose items'' getters change the state during the save (walk21)' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-tlw-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'An item a getter inside a List[hashtable] item appends to that list (once) is saved' {
        $list = [System.Collections.Generic.List[hashtable]]::new()
        $once = @{ n = 0 }
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { if ($once.n++ -eq 0) { $list.Add(@{ added = [pscustomobject]@{ z = 9 } }) }; 1 }.GetNewClosure()
        $list.Add(@{ o = $o }); $list.Add(@{ n = 2 })
        @{ l = $list } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $list.Count | Should -Be 3 -Because 'the getter appended during the save'
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.l.GetType() | Should -Be ([System.Collections.Generic.List[hashtable]])
        $r.l.Count | Should -Be 3
        $r.l[2].added.z | Should -Be 9
        $r.l[0].o.a | Should -Be 1
    }

    It 'An earlier item of a hashtable[] a later item''s getter replaces (once) is saved as replaced' {
        $array = [hashtable[]]::new(2)
        $once = @{ n = 0 }
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { if ($once.n++ -eq 0) { $array[0] = @{ replaced = [pscustomobject]@{ r = 1 } } }; 1 }.GetNewClosure()
        $array[0] = @{ old = [pscustomobject]@{ r = 0 } }
        $array[1] = @{ o = $o }
        @{ h = $array } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.h.GetType() | Should -Be ([hashtable[]])
        @($r.h[0].Keys) | Should -Be @('replaced')
        $r.h[0].replaced.r | Should -Be 1
    }

    It 'A getter inside a hashtable[] item that replaces an item on every read is refused with StateChangedDuringSave naming state.h; nothing written' {
        $array = [hashtable[]]::new(2)
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { $array[0] = @{ at = [pscustomobject]@{ t = 1 } }; 1 }.GetNewClosure()
        $array[0] = @{ first = 1 }
        $array[1] = @{ o = $o }
        $e = { @{ h = $array } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'StateChangedDuringSave,DataraxCkpt.Commands.SaveCheckpointCommand'
        $e.Exception.Message | Should -BeLike "*'state.h' changed while it was being saved*"
        @(Get-ChildItem -LiteralPath $script:dir -Recurse -ErrorAction Ignore).Count | Should -Be 0
    }
}

Describe 'Typed lists that are still refused name the value exactly' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-tlr-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'An unsupported value (<name>) inside a typed list is refused with UnsupportedValue naming <path>; nothing written' -TestCases @(
        @{ name = 'a StringBuilder in a PSCustomObject in a List[hashtable] item'; path = 'state.l[1].p.w'; make = { New-HashtableList @{ ok = 1 } @{ p = [pscustomobject]@{ a = 1; w = [System.Text.StringBuilder]::new() } } } }
        @{ name = 'a StringBuilder in a hashtable[] item beside a PSCustomObject'; path = 'state.l[0].w'; make = { , [hashtable[]]@(@{ p = [pscustomobject]@{ a = 1 }; w = [System.Text.StringBuilder]::new() }) } }
        @{ name = 'a StringBuilder in a hashtable[] item'; path = 'state.l[0].w'; make = { , [hashtable[]]@(@{ w = [System.Text.StringBuilder]::new() }) } }
        @{ name = 'a PSCustomObject in a psobject[]'; path = 'state.l'; make = { , [psobject[]]@([pscustomobject]@{ a = 1 }) } }
        @{ name = 'a PSCustomObject in a hashtable[,]'; path = 'state.l'; make = { $a = [hashtable[, ]]::new(1, 1); $a[0, 0] = @{ p = [pscustomobject]@{ a = 1 } }; , $a } }
    ) {
        param($name, $path, $make)
        $v = & $make
        $e = { [ordered]@{ l = $v } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -BeLike 'UnsupportedValue*'
        $e.Exception.Message | Should -BeLike ('*' + [WildcardPattern]::Escape("'$path'") + '*')
        @(Get-ChildItem -LiteralPath $script:dir -Recurse -ErrorAction Ignore).Count | Should -Be 0
    }
}

Describe 'Save: a typed list is copied only when an item needs conversion' {
    It 'A List[hashtable], a hashtable[] and an int[] of plain values go to the engine as the user''s own instances' {
        $state = @{ l = (New-HashtableList @{ a = 1 } @{ b = @(1, 2) }); h = [hashtable[]]@(@{ a = 1 }); i = [int[]](1, 2, 3) }
        $converted = ConvertTo-EngineValue $state
        [object]::ReferenceEquals($converted, $state) | Should -BeTrue
        [object]::ReferenceEquals($converted['l'], $state.l) | Should -BeTrue
        [object]::ReferenceEquals($converted['h'], $state.h) | Should -BeTrue
    }

    It 'A List[hashtable] holding a PSCustomObject is copied into a List[hashtable]; the item without one is the user''s own' {
        $plain = @{ b = 2 }
        $state = @{ l = (New-HashtableList @{ p = [pscustomobject]@{ a = 1 } } $plain) }
        $converted = ConvertTo-EngineValue $state
        $converted['l'].GetType() | Should -Be ([System.Collections.Generic.List[hashtable]])
        [object]::ReferenceEquals($converted['l'], $state.l) | Should -BeFalse
        [object]::ReferenceEquals($converted['l'][1], $plain) | Should -BeTrue
        $converted['l'][0]['p'].GetType().FullName | Should -Be 'DataraxCkpt.StateObject'
        $state.l[0].p | Should -BeOfType [pscustomobject]
    }
}
