# Issue 5, guarantee 5 with pwsh participants: pwsh processes using the module race on contested steps and
# save and restore their own steps, while C# processes (tests/CrashHarness LoadWorker) write and prune the
# same directory. Afterwards every contested step has exactly one winner, every loser saw StepExists, every
# surviving step restores exactly what its writer wrote, and no participant saw an unexpected error.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    $script:Harness = Join-Path $RepoRoot 'tests/CrashHarness/bin/Release/net10.0/DataraxCkpt.CrashHarness.dll'
    if (-not (Test-Path $Harness)) {
        & dotnet build (Join-Path $RepoRoot 'tests/CrashHarness') -c Release --nologo --verbosity quiet | Out-Null
    }

    # Run by each pwsh participant. Own steps are 5k + slot (slots 0 and 1; the C# writers take 2 and 3);
    # contested steps are 2,000,000,000 + 5k, raced by both pwsh participants and never pruned (the
    # pruner keeps every 5th step). A state is a pure function of its step, so anyone can check it.
    $script:Participant = @'
param($Module, $Dir, $Journal, $Name, [int] $Slot, [int] $Seconds)
$ErrorActionPreference = 'Stop'
Import-Module $Module
function New-State([long] $s) {
    $w = [float[]]::new(4096)
    for ($i = 0; $i -lt $w.Length; $i += 64) { $w[$i] = [float](($s * 31 + $i) % 100003) }
    [ordered]@{ step = $s; w = $w }
}
function Test-State($state, [long] $s) {
    if ($state -isnot [System.Collections.Specialized.OrderedDictionary] -or $state.step -ne $s) { return $false }
    $expected = (New-State $s).w
    return [System.Linq.Enumerable]::SequenceEqual([float[]] $state.w, [float[]] $expected)
}
$errors = [System.Collections.Generic.List[string]]::new()
$ops = 0
$random = [Random]::new($Slot)
$deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
for ($k = 0; [DateTime]::UtcNow -lt $deadline; $k++) {
    $own = 5 * $k + $Slot
    try { New-State $own | Save-Checkpoint -LiteralPath $Dir -Step $own; $ops++ }
    catch { $errors.Add("save ${own}: $($_.FullyQualifiedErrorId)") }

    $contested = 2000000000 + 5 * $k
    try {
        New-State $contested | Save-Checkpoint -LiteralPath $Dir -Step $contested
        Set-Content -LiteralPath (Join-Path $Journal "$contested.$Name.win") -Value 'win'
        $ops++
    }
    catch {
        if ($_.FullyQualifiedErrorId -eq 'StepExists,DataraxCkpt.Commands.SaveCheckpointCommand') {
            Set-Content -LiteralPath (Join-Path $Journal "$contested.$Name.lost") -Value 'lost'
        }
        else { $errors.Add("contested ${contested}: $($_.FullyQualifiedErrorId)") }
    }

    $mine = @(Get-CheckpointStep -LiteralPath $Dir | Where-Object { ($_ % 5) -in 0, 1 -and ($_ -lt 900000000 -or $_ -ge 2000000000) })
    $ops++
    if ($mine.Count -gt 0) {
        $pick = $mine[$random.Next($mine.Count)]
        try {
            if (-not (Test-State (Restore-Checkpoint -LiteralPath $Dir -Step $pick) $pick)) { $errors.Add("restore ${pick}: mixed or partial data") }
            $ops++
        }
        catch {
            # The pruner may remove a step between the listing and the restore; that is not an error.
            if ($_.FullyQualifiedErrorId -ne 'StepNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand') { $errors.Add("restore ${pick}: $($_.FullyQualifiedErrorId)") }
        }
    }
}
Set-Content -LiteralPath (Join-Path $Journal "$Name.errors") -Value $errors
Set-Content -LiteralPath (Join-Path $Journal "$Name.ops") -Value $ops
'@
}

Describe 'Concurrency with pwsh and C# processes' {
    It 'keeps one winner per contested step, exact data for every survivor, and no unexpected error' {
        $dir = Join-Path $TestDrive 'shared'
        $journal = Join-Path $TestDrive 'journal'
        $null = New-Item -ItemType Directory -Path $dir, $journal
        $script = Join-Path $TestDrive 'participant.ps1'
        Set-Content -LiteralPath $script -Value $Participant
        $seconds = 20
        # @(...) around the whole if: a one-element array returned by an if would unroll to a string.
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

        $processes = @(
            foreach ($slot in 0, 1) {
                Start-Process -FilePath ([Environment]::ProcessPath) -PassThru -NoNewWindow -RedirectStandardOutput (Join-Path $journal "ps$slot.out") `
                    -ArgumentList ($pwshArgs + @('-NoProfile', '-NonInteractive', '-File', $script, $ModuleManifest, $dir, $journal, "ps$slot", $slot, $seconds))
            }
            foreach ($slot in 2, 3) {
                Start-Process -FilePath 'dotnet' -PassThru -NoNewWindow -RedirectStandardOutput (Join-Path $journal "cs$slot.out") `
                    -ArgumentList @($Harness, 'worker', $dir, $journal, 'writer', "cs$slot", $seconds, 7, 1, 4096, $slot, 5)
            }
            Start-Process -FilePath 'dotnet' -PassThru -NoNewWindow -RedirectStandardOutput (Join-Path $journal 'pruner.out') `
                -ArgumentList @($Harness, 'worker', $dir, $journal, 'pruner', 'pruner', $seconds, 7, 1, 4096)
        )
        foreach ($p in $processes) {
            $p.WaitForExit(180000) | Should -BeTrue
            $p.ExitCode | Should -Be 0
        }

        # No participant saw anything but the failures the guarantee allows.
        foreach ($name in 'ps0', 'ps1') {
            @(Get-Content -LiteralPath (Join-Path $journal "$name.errors") | Where-Object { $_ }) | Should -BeNullOrEmpty
            [int](Get-Content -LiteralPath (Join-Path $journal "$name.ops")) | Should -BeGreaterThan 5
        }
        foreach ($name in 'cs2', 'cs3', 'pruner') {
            (Get-Content -LiteralPath (Join-Path $journal "$name.summary") -Raw | ConvertFrom-Json).errors | Should -Be 0
        }

        # Exactly one winner per contested step, and the step is there with the winner's data.
        Import-Module $ModuleManifest -Force
        $outcomes = Get-ChildItem -LiteralPath $journal -Filter '2*.ps*.*' | Group-Object { $_.Name.Split('.')[0] }
        $outcomes.Count | Should -BeGreaterThan 3
        $listed = @(Get-CheckpointStep -LiteralPath $dir)
        foreach ($g in $outcomes) {
            @($g.Group | Where-Object Extension -eq '.win').Count | Should -Be 1 -Because "contested step $($g.Name) needs one winner"
            $listed | Should -Contain ([long] $g.Name)
        }

        # Every surviving pwsh-written step restores exactly; every C#-written one restores its own step.
        foreach ($step in $listed) {
            $state = Restore-Checkpoint -LiteralPath $dir -Step $step
            $state.step | Should -Be $step
            if (($step % 5) -in 0, 1) {
                $w = [float[]] $state.w
                $w.Length | Should -Be 4096
                $w[64] | Should -Be ([float](($step * 31 + 64) % 100003))
            }
        }
        Test-Checkpoint -LiteralPath $dir -Quiet | Should -BeTrue
        $pwshOps = (Get-Content -LiteralPath (Join-Path $journal 'ps0.ops'), (Join-Path $journal 'ps1.ops') | Measure-Object -Sum).Sum
        $figure = "FIGURE guarantee 5 | pwsh and C# load | {0} s, 2 pwsh + 3 C# processes, {1} pwsh operations, {2} contested steps with one winner each, {3} surviving steps exact, 0 unexpected errors" -f
            $seconds, $pwshOps, $outcomes.Count, $listed.Count
        Write-Host $figure
        # build.ps1 -Task Test collects every figure of the run in one file (docs/guarantees.md renders it).
        if ($env:DATARAXCKPT_FIGURES_FILE) { Add-Content -LiteralPath $env:DATARAXCKPT_FIGURES_FILE -Value $figure }
    }
}
