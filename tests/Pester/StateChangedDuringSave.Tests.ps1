# A state whose own code (a PSCustomObject's ScriptProperty getter) changes its lists or dictionaries while
# Save-Checkpoint converts it (the Known gap of session 20, attack round 5). The step must hold the state as it is
# when the save returns (what Restore-Checkpoint gives equals the state read after the save), or the save is refused
# with StateChangedDuringSave and nothing is written: never a step that matches neither.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    # A description of a value that runs no getter: a PSCustomObject shows its note properties only, except 'p' (the
    # name every changing getter here has, which comes back as a note property), containers their items (dictionaries
    # by sorted key), so a restored state and the live one compare as text.
    function script:Show-Value($x) {
        if ($null -eq $x) { return '<null>' }
        if ($x -is [psobject] -and $x.psobject.BaseObject -is [System.Management.Automation.PSCustomObject]) {
            $notes = $x.psobject.Properties | Where-Object { $_.MemberType -eq 'NoteProperty' -and $_.Name -ne 'p' }
            return '{' + (@($notes | ForEach-Object { "$($_.Name)=$(Show-Value $_.Value)" }) -join ',') + '}'
        }
        if ($x -is [System.Collections.IDictionary]) {
            return '@{' + (@(foreach ($k in @($x.Keys | Sort-Object)) { "$k=>$(Show-Value $x[$k])" }) -join ';') + '}'
        }
        if ($x -is [System.Collections.IList]) {
            return '[' + (@(for ($i = 0; $i -lt $x.Count; $i++) { Show-Value $x[$i] }) -join ',') + ']'
        }
        "$x"
    }

    # A getter that makes its change the first time it is read only, so the state settles (the save then holds it as
    # it ends); $once.n counts the reads.
    function script:New-Once([scriptblock] $Change) {
        $once = @{ n = 0 }
        $getter = { if ($once.n++ -eq 0) { & $Change }; 1 }.GetNewClosure()
        $once, $getter
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'A state its own getters change during Save-Checkpoint is saved as it ends' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-chg-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'An item a sibling''s getter appends to a List[object] is saved' {
        # Failed on 485498d: the walk read the count once, so [zero, {a=1}, two] was saved for [zero, {a=1}, two, added].
        $list = [System.Collections.Generic.List[object]]::new()
        $once, $getter = New-Once { $list.Add('added') }.GetNewClosure()
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        $list.Add('zero'); $list.Add($o); $list.Add('two')
        @{ v = $list } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $list.Count | Should -Be 4 -Because 'the getter appended during the save'
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        Show-Value $r.v | Should -Be (Show-Value $list)
        $r.v[3] | Should -Be 'added'
    }

    It 'An earlier item a sibling''s getter removes from a List[object] is not saved' {
        # Failed on 485498d: [{a=1}, x, {b=1}] saved for [x, {b=1}] (the walk was at its end when the getter ran).
        $list = [System.Collections.Generic.List[object]]::new()
        $once, $getter = New-Once { $list.RemoveAt(0) }.GetNewClosure()
        $o2 = [pscustomobject]@{ b = 1 }
        $o2 | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        $list.Add([pscustomobject]@{ a = 1 }); $list.Add('x'); $list.Add($o2)
        @{ v = $list } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        Show-Value $r.v | Should -Be (Show-Value $list)
        $r.v.Count | Should -Be 2
    }

    It 'An earlier item of an object[] a sibling''s getter replaces is saved as replaced' {
        # Failed on 485498d: [{a=1}, {b=1}] saved for [replaced, {b=1}] (the old item was buffered already).
        $array = [object[]]::new(2)
        $once, $getter = New-Once { $array[0] = 'replaced' }.GetNewClosure()
        $o2 = [pscustomobject]@{ b = 1 }
        $o2 | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        $array[0] = [pscustomobject]@{ a = 1 }; $array[1] = $o2
        @{ v = $array } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        Show-Value $r.v | Should -Be (Show-Value $array)
        $r.v[0] | Should -Be 'replaced'
    }

    It 'Items of a List[psobject] a sibling''s getter removes and replaces are saved as they end' {
        # Failed on 485498d: removing item 0 saved [{old=1}, {a=1}] for [{a=1}, {c=3}].
        $lp = [System.Collections.Generic.List[psobject]]::new()
        $once, $getter = New-Once { $lp.RemoveAt(0); $lp[1] = [pscustomobject]@{ new = 2 } }.GetNewClosure()
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        $lp.Add([pscustomobject]@{ old = 1 }); $lp.Add($o); $lp.Add([pscustomobject]@{ c = 3 })
        @{ v = $lp } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        Show-Value $r.v | Should -Be (Show-Value $lp)
        $r.v[1].new | Should -Be 2
    }

    It 'A key an ancestor''s getter adds to a plain hashtable it walked before is saved' {
        # The hashtable of plain values goes to the engine without a walk; the getter of the object holding it runs after
        # its note property was read.
        $table = @{ x = 1 }
        $once, $getter = New-Once { $table['y'] = [pscustomobject]@{ added = 1 } }.GetNewClosure()
        $holder = [pscustomobject]@{ t = $table }
        $holder | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        @{ v = $holder } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        Show-Value $r.v.t | Should -Be (Show-Value $table)
        $r.v.t.y.added | Should -Be 1
        $r.v.p | Should -Be 1
    }

    It 'A key a sibling''s getter removes from an ordered dictionary is not saved' {
        $o = [pscustomobject]@{ c = 3 }
        $ordered = [ordered]@{ a = [pscustomobject]@{ a = 1 }; b = 'two'; o = $o }
        $once, $getter = New-Once { $ordered.Remove('a') }.GetNewClosure()
        $o | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        @{ v = $ordered } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $ordered.Contains('a') | Should -BeFalse -Because 'the getter removed it during the save'
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        Show-Value $r.v | Should -Be (Show-Value $ordered)
        @($r.v.Keys) | Should -Be @('b', 'o')
    }

    It 'A value of a Dictionary[int,object] a sibling''s getter replaces after it was walked is saved as replaced' {
        # Failed on 485498d: the old value, already buffered, was saved.
        $d = [System.Collections.Generic.Dictionary[int, object]]::new()
        $once, $getter = New-Once { $d[1] = [pscustomobject]@{ replaced = 1 } }.GetNewClosure()
        $o = [pscustomobject]@{ b = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        $d[1] = [pscustomobject]@{ a = 1 }; $d[2] = $o
        @{ v = $d } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.v.GetType() | Should -Be ([System.Collections.Generic.Dictionary[int, object]])
        Show-Value $r.v | Should -Be (Show-Value $d)
        $r.v[1].replaced | Should -Be 1
    }

    It 'An ArrayList an ancestor''s getter clears after it was walked is saved empty' {
        $al = [System.Collections.ArrayList]::new()
        $null = $al.Add('zero'); $null = $al.Add([pscustomobject]@{ a = 1 })
        $once, $getter = New-Once { $al.Clear() }.GetNewClosure()
        $holder = [pscustomobject]@{ l = $al }
        $holder | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        @{ v = $holder } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $al.Count | Should -Be 0 -Because 'the getter cleared it during the save'
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.v.l.Count | Should -Be 0
    }

    It 'A note property a getter changes on an object walked before is saved as changed' {
        $first = [pscustomobject]@{ n = 1 }
        $once, $getter = New-Once { $first.n = 2 }.GetNewClosure()
        $second = [pscustomobject]@{ m = 1 }
        $second | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        [ordered]@{ first = $first; second = $second } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        (Restore-Checkpoint -LiteralPath $script:dir -Step 1).first.n | Should -Be 2
    }

    It 'Getters that change nothing are read once and saved; a getter returning a new object on each read is saved' {
        $calls = @{ n = 0 }
        $o = [pscustomobject]@{ a = 2; b = 3 }
        $o | Add-Member -MemberType ScriptProperty -Name sum -Value { $calls.n++; $this.a + $this.b }.GetNewClosure()
        $o | Add-Member -MemberType ScriptProperty -Name fresh -Value { [pscustomobject]@{ at = 1 } }
        $o | Add-Member -MemberType ScriptProperty -Name list -Value { , [System.Collections.Generic.List[object]]@(1, 2) }
        @{ o = $o } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $calls.n | Should -Be 1 -Because 'a state that settles is converted by one walk that runs the getters'
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        $r.o.sum | Should -Be 5
        $r.o.fresh.at | Should -Be 1
        @($r.o.list) | Should -Be @(1, 2)
    }
}

Describe 'A state its own getters change on every read is refused' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-chg-" + [guid]::NewGuid().ToString('N'))
        @{ first = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 1
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'A getter that appends to its list on every read is refused with StateChangedDuringSave naming state.v; no step is written' {
        $list = [System.Collections.Generic.List[object]]::new()
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { $list.Add('added'); 1 }.GetNewClosure()
        $list.Add('zero'); $list.Add($o)
        $e = { @{ v = $list } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'StateChangedDuringSave,DataraxCkpt.Commands.SaveCheckpointCommand'
        $e.CategoryInfo.Category | Should -Be 'InvalidOperation'
        $e.Exception.Message | Should -BeLike "*'state.v' changed while it was being saved (its own ScriptProperty getters?)*save a state that does not change while it is read*"
        @(Get-CheckpointStep -LiteralPath $script:dir) | Should -Be @(1)
        @(Get-ChildItem -LiteralPath $script:dir -Name) | Should -Be @('1', 'index.sqlite')
    }

    It 'A getter that replaces a value of an ordered dictionary with a new object on every read is refused naming that dictionary''s path' {
        $inner = [ordered]@{ x = 1; o = $null }
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { $inner['x'] = [pscustomobject]@{ at = 1 }; 1 }.GetNewClosure()
        $inner['o'] = $o
        $e = { [ordered]@{ outer = [ordered]@{ 'in ner' = $inner } } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'StateChangedDuringSave,DataraxCkpt.Commands.SaveCheckpointCommand'
        $e.Exception.Message | Should -BeLike ('*' + [WildcardPattern]::Escape("'state.outer['in ner']'") + ' changed while it was being saved*')
        @(Get-CheckpointStep -LiteralPath $script:dir) | Should -Be @(1)
    }

    It 'A -Metadata value whose getter changes it on every read is refused naming metadata[cfg]; no step is written' {
        $list = [System.Collections.Generic.List[object]]::new()
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { $list.Add('added'); 1 }.GetNewClosure()
        $list.Add($o)
        $e = { @{ w = 2 } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -Metadata @{ cfg = $list } -ErrorAction Stop } | Should -Throw -PassThru
        $e.FullyQualifiedErrorId | Should -Be 'StateChangedDuringSave,DataraxCkpt.Commands.SaveCheckpointCommand'
        $e.Exception.Message | Should -BeLike ('*' + [WildcardPattern]::Escape("'metadata[cfg]'") + ' changed while it was being saved*')
        @(Get-CheckpointStep -LiteralPath $script:dir) | Should -Be @(1)
    }

    It 'Without -ErrorAction Stop the refusal is a non-terminating error and the next piped state is still saved' {
        $list = [System.Collections.Generic.List[object]]::new()
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { $list.Add('added'); 1 }.GetNewClosure()
        $list.Add($o)
        @{ v = $list }, @{ w = 2 } | Save-Checkpoint -LiteralPath $script:dir -ErrorVariable failures -ErrorAction SilentlyContinue
        @($failures).Count | Should -Be 1
        $failures[0].FullyQualifiedErrorId | Should -Be 'StateChangedDuringSave,DataraxCkpt.Commands.SaveCheckpointCommand'
        @(Get-CheckpointStep -LiteralPath $script:dir) | Should -Be @(1, 2)
        (Restore-Checkpoint -LiteralPath $script:dir -Step 2).w | Should -Be 2
    }

    It 'A -Metadata getter that adds a metadata key: the step holds the metadata as it ends' {
        # Failed before the state and metadata were converted as one set of roots: the key added behind the metadata's
        # enumeration threw "Collection was modified" (InvalidOperation) and nothing was saved.
        $meta = [ordered]@{}
        $once, $getter = New-Once { $meta['late'] = 'x' }.GetNewClosure()
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value $getter
        $meta['cfg'] = $o
        @{ w = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -Metadata $meta -ErrorAction Stop
        $meta.Contains('late') | Should -BeTrue -Because 'the getter added it during the save'
        (Get-Checkpoint -LiteralPath $script:dir -Step 2).Metadata.late | Should -Be 'x'
    }

    It 'A container subclass whose enumeration, during the check, changes another subclass container checked before it is saved as it ends' {
        # The check compares subclass containers twice before the plain ones: X's 3rd enumeration (the check's first
        # pass; the 1st and 2nd are the two walks) adds a key to Y, compared just before X; the second pass sees it and
        # the state is walked again. Failed with a single pass: the step held Y without the key.
        $calls = @{ n = 0 }
        $types = Invoke-Expression @'
class ScdsPlainSub : System.Collections.Hashtable {}
class ScdsChangingSub : System.Collections.Hashtable {
    [hashtable] $Calls
    [hashtable] $Other
    [System.Collections.IDictionaryEnumerator] GetEnumerator() {
        $this.Calls.n++
        if ($this.Calls.n -eq 3) { $this.Other['late'] = 'x' }
        return ([System.Collections.Hashtable]$this).Clone().GetEnumerator()
    }
}
@([ScdsPlainSub], [ScdsChangingSub])
'@
        $y = $types[0]::new(); $y['k'] = 1
        # The class's fields set as fields: $x.Calls = ... would add a key 'Calls' to the hashtable, so to the state.
        $x = $types[1]::new(); $types[1].GetProperty('Calls').SetValue($x, $calls); $types[1].GetProperty('Other').SetValue($x, $y); $x['k'] = 2
        [ordered]@{ y = $y; x = $x } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -ErrorAction Stop
        $y.ContainsKey('late') | Should -BeTrue -Because "X's enumeration added it during the check (enumerations: $($calls.n))"
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 2
        Show-Value $r.y | Should -Be (Show-Value ([hashtable]$y))
    }

    It 'Known gap (pinned): a subclass''s enumeration that changes another subclass container during the check''s second pass is not seen' {
        # docs/guarantees.md, Known gaps: X's 4th enumeration is the check's second pass over the subclass containers;
        # the key it adds to Y (compared just before X in that pass) is not compared again, so the step holds Y as the
        # walk read it. If this fails, the gap was closed: update the guarantee and this test.
        $calls = @{ n = 0 }
        $types = Invoke-Expression @'
class ScdsGapPlainSub : System.Collections.Hashtable {}
class ScdsGapChangingSub : System.Collections.Hashtable {
    [hashtable] $Calls
    [hashtable] $Other
    [System.Collections.IDictionaryEnumerator] GetEnumerator() {
        $this.Calls.n++
        if ($this.Calls.n -eq 4) { $this.Other['late'] = 'x' }
        return ([System.Collections.Hashtable]$this).Clone().GetEnumerator()
    }
}
@([ScdsGapPlainSub], [ScdsGapChangingSub])
'@
        $y = $types[0]::new(); $y['k'] = 1
        # The class's fields set as fields: $x.Calls = ... would add a key 'Calls' to the hashtable, so to the state.
        $x = $types[1]::new(); $types[1].GetProperty('Calls').SetValue($x, $calls); $types[1].GetProperty('Other').SetValue($x, $y); $x['k'] = 2
        [ordered]@{ y = $y; x = $x } | Save-Checkpoint -LiteralPath $script:dir -Step 2 -ErrorAction Stop
        $calls.n | Should -Be 4 -Because 'two walks and two passes of the check enumerate X'
        $y.ContainsKey('late') | Should -BeTrue
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 2
        $r.y.ContainsKey('late') | Should -BeFalse -Because 'the gap: the step holds Y as the walk read it'
    }
}
