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
    # pruner keeps every 5th step). States come from the harness (HarnessState: the same bytes for the same
    # step and seed, the seed being the participant's slot, so the two racers' versions of a contested
    # step differ) and every commit is journaled with its full digest, as the C# workers journal theirs:
    # <step>.<name>.win = "seed tensors floats digest". Each participant runs at least $MinRounds rounds
    # and $Seconds seconds counted from the moment both are ready (module imported), so a slow pwsh
    # start-up shortens no race and no bound depends on how loaded the machine is.
    $script:Participant = @'
param($Module, $Harness, $Dir, $Journal, $Name, [int] $Slot, [int] $Seconds, [int] $MinRounds)
$ErrorActionPreference = 'Stop'
Import-Module $Module
Add-Type -Path $Harness
function Save-Journaled([long] $s) {
    $state = [DataraxCkpt.HarnessState]::Create($s, $Slot, 1, 4096)
    Save-Checkpoint -InputObject $state -LiteralPath $Dir -Step $s
    Set-Content -LiteralPath (Join-Path $Journal "$s.$Name.win") -Value "$Slot 1 4096 $([DataraxCkpt.HarnessDigest]::Of($state))"
}
$errors = [System.Collections.Generic.List[string]]::new()
$ops = 0
$random = [Random]::new($Slot)
Set-Content -LiteralPath (Join-Path $Journal "$Name.ready") -Value 'ready'
$wait = [Diagnostics.Stopwatch]::StartNew()
while (@(Get-ChildItem -LiteralPath $Journal -Filter 'ps*.ready').Count -lt 2) {
    if ($wait.Elapsed.TotalSeconds -gt 300) { throw "$Name`: the other pwsh participant never became ready" }
    Start-Sleep -Milliseconds 20
}
$deadline = [DateTime]::UtcNow.AddSeconds($Seconds)
for ($k = 0; $k -lt $MinRounds -or [DateTime]::UtcNow -lt $deadline; $k++) {
    $own = 5 * $k + $Slot
    try { Save-Journaled $own; $ops++ }
    catch { $errors.Add("save ${own}: $($_.FullyQualifiedErrorId)") }

    $contested = 2000000000 + 5 * $k
    try { Save-Journaled $contested; $ops++ }
    catch {
        if ($_.FullyQualifiedErrorId -eq 'StepExists,DataraxCkpt.Commands.SaveCheckpointCommand') {
            Set-Content -LiteralPath (Join-Path $Journal "$contested.$Name.lost") -Value 'lost'
        }
        else { $errors.Add("contested ${contested}: $($_.FullyQualifiedErrorId)") }
    }

    $pwshSteps = @(Get-CheckpointStep -LiteralPath $Dir | Where-Object { ($_ % 5) -in 0, 1 -and ($_ -lt 900000000 -or $_ -ge 2000000000) })
    $ops++
    if ($pwshSteps.Count -gt 0) {
        $pick = $pwshSteps[$random.Next($pwshSteps.Count)]
        try {
            # Whoever wrote it (slot 0 or 1, or either racer for a contested step), the restore must be
            # exactly one of those versions, never mixed or partial.
            $digest = [DataraxCkpt.HarnessDigest]::Of((Restore-Checkpoint -LiteralPath $Dir -Step $pick))
            $candidates = foreach ($seed in 0, 1) { [DataraxCkpt.HarnessDigest]::Of([DataraxCkpt.HarnessState]::Create($pick, $seed, 1, 4096)) }
            if ($digest -notin $candidates) { $errors.Add("restore ${pick}: mixed or partial data") }
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
Set-Content -LiteralPath (Join-Path $Journal "$Name.rounds") -Value $k
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
        $minRounds = 4
        # @(...) around the whole if: a one-element array returned by an if would unroll to a string.
        $pwshArgs = @(if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { Join-Path $PSHOME 'pwsh.dll' })

        $processes = @(
            foreach ($slot in 0, 1) {
                Start-Process -FilePath ([Environment]::ProcessPath) -PassThru -NoNewWindow -RedirectStandardOutput (Join-Path $journal "ps$slot.out") `
                    -ArgumentList ($pwshArgs + @('-NoProfile', '-NonInteractive', '-File', $script, $ModuleManifest, $Harness, $dir, $journal, "ps$slot", $slot, $seconds, $minRounds))
            }
        )
        # The C# load starts once both pwsh participants have imported the module, so it overlaps their
        # rounds however long the import takes here.
        $ready = [Diagnostics.Stopwatch]::StartNew()
        while (@(Get-ChildItem -LiteralPath $journal -Filter 'ps*.ready').Count -lt 2 -and $ready.Elapsed.TotalSeconds -lt 300 -and -not ($processes | Where-Object HasExited)) {
            Start-Sleep -Milliseconds 50
        }
        @(Get-ChildItem -LiteralPath $journal -Filter 'ps*.ready').Count | Should -Be 2 -Because 'both pwsh participants must import the module'
        $processes += @(
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

        # No participant saw anything but the failures the guarantee allows, and each pwsh participant ran
        # all its rounds (at least $minRounds, whatever the load).
        foreach ($name in 'ps0', 'ps1') {
            @(Get-Content -LiteralPath (Join-Path $journal "$name.errors") | Where-Object { $_ }) | Should -BeNullOrEmpty
            [int](Get-Content -LiteralPath (Join-Path $journal "$name.rounds")) | Should -BeGreaterOrEqual $minRounds
            [int](Get-Content -LiteralPath (Join-Path $journal "$name.ops")) | Should -BeGreaterOrEqual (2 * $minRounds)
        }
        foreach ($name in 'cs2', 'cs3', 'pruner') {
            (Get-Content -LiteralPath (Join-Path $journal "$name.summary") -Raw | ConvertFrom-Json).errors | Should -Be 0
        }

        # Every journaled outcome: <step>.<participant>.win|lost.
        $journaled = @(Get-ChildItem -LiteralPath $journal | Where-Object Name -match '^(\d+)\.(\w+)\.(win|lost)$' | ForEach-Object {
            [pscustomobject]@{ Step = [long]$Matches[1]; Name = $Matches[2]; Kind = $Matches[3]; Path = $_.FullName }
        })

        # Exactly one winner per contested step (the other racer lost it), and the step is still listed.
        Import-Module $ModuleManifest -Force
        Add-Type -Path $Harness
        $listed = @(Get-CheckpointStep -LiteralPath $dir)
        $contested = @($journaled | Where-Object Step -ge 2000000000 | Group-Object Step)
        $contested.Count | Should -BeGreaterOrEqual $minRounds
        foreach ($g in $contested) {
            @($g.Group | Where-Object Kind -eq 'win').Count | Should -Be 1 -Because "contested step $($g.Name) needs one winner"
            @($g.Group | Where-Object Kind -eq 'lost').Count | Should -BeLessOrEqual 1
            $listed | Should -Contain ([long] $g.Name)
        }

        # Every surviving step, whoever wrote it, restores to exactly the full digest its one winner
        # journaled: every key, every value, every tensor byte.
        $listed.Count | Should -BeGreaterThan 0
        foreach ($step in $listed) {
            $wins = @($journaled | Where-Object { $_.Step -eq $step -and $_.Kind -eq 'win' })
            $wins.Count | Should -Be 1 -Because "step $step must have exactly one journaled writer"
            $expected = (Get-Content -Raw -LiteralPath $wins[0].Path).Trim().Split(' ')[-1]
            [DataraxCkpt.HarnessDigest]::Of((Restore-Checkpoint -LiteralPath $dir -Step $step)) | Should -BeExactly $expected -Because "step $step was written by $($wins[0].Name)"
        }
        Test-Checkpoint -LiteralPath $dir -Quiet | Should -BeTrue
        $pwshOps = (Get-Content -LiteralPath (Join-Path $journal 'ps0.ops'), (Join-Path $journal 'ps1.ops') | Measure-Object -Sum).Sum
        $figure = "FIGURE guarantee 5 | pwsh and C# load | {0} s, 2 pwsh + 3 C# processes, {1} pwsh operations, {2} contested steps with one winner each, {3} surviving steps exact, 0 unexpected errors" -f
            $seconds, $pwshOps, $contested.Count, $listed.Count
        Write-Host $figure
        # build.ps1 -Task Test collects every figure of the run in one file (docs/guarantees.md renders it).
        if ($env:DATARAXCKPT_FIGURES_FILE) { Add-Content -LiteralPath $env:DATARAXCKPT_FIGURES_FILE -Value $figure }
    }
}
