# Attack on walk21 (the save's checked walks of a state with getters): a state that ends differently from what the
# step holds must never be written. Each test builds a state whose getter changes it during Save-Checkpoint and
# compares what Restore-Checkpoint gives with the state read after the save (or expects StateChangedDuringSave and
# no step).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Attack 21 on the checked walks of Save-Checkpoint' {
    BeforeEach {
        $script:dir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-a21w-" + [guid]::NewGuid().ToString('N'))
    }
    AfterEach {
        Remove-Item -LiteralPath $script:dir -Recurse -Force -ErrorAction Ignore
    }

    It 'A value a getter replaces by an equal but different <Name> in a copied list is saved as it ends' -TestCases @(
        @{ Name = '-0.0 (for 0.0)'; Before = { 0.0 }; After = { -0.0 }; Show = { param($x) [BitConverter]::DoubleToInt64Bits($x) } }
        @{ Name = 'NaN of another payload'; Before = { [double]::NaN }; After = { [BitConverter]::Int64BitsToDouble(0x7FF8000000000001) }; Show = { param($x) [BitConverter]::DoubleToInt64Bits($x) } }
        @{ Name = '1.00d (for 1.0d)'; Before = { 1.0d }; After = { 1.00d }; Show = { param($x) $x.ToString([cultureinfo]::InvariantCulture) } }
        @{ Name = 'DateTime of Kind Local (for Utc)'; Before = { [datetime]::SpecifyKind([datetime]::new(2020, 1, 1), 'Utc') }; After = { [datetime]::SpecifyKind([datetime]::new(2020, 1, 1), 'Local') }; Show = { param($x) "$($x.Ticks) $($x.Kind)" } }
        @{ Name = 'DateTimeOffset of offset +02:00 (for the same instant at +00:00)'; Before = { [datetimeoffset]::new(2020, 1, 1, 0, 0, 0, [timespan]::Zero) }; After = { [datetimeoffset]::new(2020, 1, 1, 2, 0, 0, [timespan]::FromHours(2)) }; Show = { param($x) $x.ToString('o') } }
    ) {
        # The list holds a PSCustomObject, so the conversion copies it: the step holds the copy's items as the walk
        # read them. The getter (walked after the list) replaces item 0 by a value that Equals it but is another value
        # to the engine (it writes a double's bits, a decimal's scale, a DateTime's Kind, a DateTimeOffset's offset).
        $list = [System.Collections.ArrayList]::new()
        [void]$list.Add((& $Before)); [void]$list.Add([pscustomobject]@{ b = 1 })
        $reads = @{ n = 0 }
        $o = [pscustomobject]@{ a = 1 }
        $o | Add-Member -MemberType ScriptProperty -Name p -Value { if ($reads.n++ -eq 0) { $list[0] = & $After }; 1 }.GetNewClosure()
        [ordered]@{ l = $list; o = $o } | Save-Checkpoint -LiteralPath $script:dir -Step 1
        $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
        & $Show $r.l[0] | Should -Be (& $Show $list[0]) -Because 'the step must hold the state as it ends'
    }

    It 'A -Metadata getter that changes the state after the state was converted: the step holds the state as it ends, or nothing is written' {
        # The state is converted first (its list copied: it holds a PSCustomObject); the metadata values are converted
        # after it, each alone, and a getter among them appends to the state's list. Nothing checks the state again.
        $list = [System.Collections.ArrayList]@(1, [pscustomobject]@{ b = 1 })
        $state = @{ l = $list }
        $m = [pscustomobject]@{ a = 1 }
        $m | Add-Member -MemberType ScriptProperty -Name p -Value { [void]$list.Add('added'); 'v' }.GetNewClosure()
        $saved = $true
        try {
            $state | Save-Checkpoint -LiteralPath $script:dir -Step 1 -Metadata @{ cfg = $m } -ErrorAction Stop
        }
        catch {
            $saved = $false
            $_.FullyQualifiedErrorId | Should -BeLike 'StateChangedDuringSave*'
            Test-Path -LiteralPath (Join-Path $script:dir '1') | Should -BeFalse
        }
        if ($saved) {
            $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
            $r.l.Count | Should -Be $list.Count -Because 'the step must hold the state as it ends (the metadata getter appended to it)'
        }
    }

    It 'A -Metadata getter that changes another metadata value already converted: the step holds it as it ends, or nothing is written' {
        $tags = [System.Collections.ArrayList]@('x', [pscustomobject]@{ b = 1 })
        $m = [pscustomobject]@{ a = 1 }
        $m | Add-Member -MemberType ScriptProperty -Name p -Value { [void]$tags.Add('added'); 'v' }.GetNewClosure()
        $meta = [ordered]@{ tags = $tags; cfg = $m }
        $saved = $true
        try {
            @{ x = 1 } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -Metadata $meta -ErrorAction Stop
        }
        catch {
            $saved = $false
            $_.FullyQualifiedErrorId | Should -BeLike 'StateChangedDuringSave*'
        }
        if ($saved) {
            $info = Get-Checkpoint -LiteralPath $script:dir -Step 1
            @($info.Metadata.tags).Count | Should -Be $tags.Count -Because 'the metadata must be held as it ends'
        }
    }

    It 'A Hashtable subclass whose enumerator changes a list already checked, while the walk is checked, is saved as it ends or refused' {
        # The subclass is enumerated by the first walk (1), the checked walk (2) and the check of its record (3):
        # on the 3rd enumeration it appends to a list whose record the check has already compared.
        $list = [System.Collections.ArrayList]@(1, [pscustomobject]@{ b = 1 })
        $calls = @{ n = 0 }
        $type = Invoke-Expression @'
class A21Table : System.Collections.Hashtable {
    [hashtable] $Calls
    [System.Collections.ArrayList] $List
    [System.Collections.IDictionaryEnumerator] GetEnumerator() {
        $this.Calls.n++
        if ($this.Calls.n -eq 3) { [void]$this.List.Add('added') }
        return ([System.Collections.Hashtable]$this).Clone().GetEnumerator()
    }
}
[A21Table]
'@
        $t = $type::new()
        $t.Calls = $calls; $t.List = $list
        $t['k'] = 1
        $saved = $true
        try {
            [ordered]@{ l = $list; t = $t } | Save-Checkpoint -LiteralPath $script:dir -Step 1 -ErrorAction Stop
        }
        catch {
            $saved = $false
            $_.FullyQualifiedErrorId | Should -BeLike 'StateChangedDuringSave*'
        }
        if ($saved) {
            $r = Restore-Checkpoint -LiteralPath $script:dir -Step 1
            $r.l.Count | Should -Be $list.Count -Because "the step must hold the state as it ends (enumerations: $($calls.n))"
        }
    }
}
