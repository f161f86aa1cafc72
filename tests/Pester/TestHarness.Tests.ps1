# Issue 13: build.ps1 -Task Test must never report a false pass. These tests feed the harness's own
# functions (build/TestRunEvidence.ps1) fabricated TRX files, Pester count files and floors, and run the
# real Pester runner (build/Invoke-PesterRun.ps1) on fabricated test folders, and check that every way a
# run can lose or hide tests ends in exit code 1 with the closing line still printed.

BeforeAll {
    $script:Repo = (Resolve-Path (Join-Path $PSScriptRoot '../..')).ProviderPath
    . (Join-Path $Repo 'build/TestRunEvidence.ps1')
    $script:ClosingPattern = '\d+ passed, \d+ failed, \d+ skipped'

    function script:New-Trx([string] $Path, [string] $Outcome, [int] $Passed, [int] $Failed = 0, [string[]] $Skipped = @(), [string[]] $PassedNames = @()) {
        # Names escaped as vstest writes them (a theory's string arguments are quoted).
        $results = @(foreach ($name in $PassedNames) { "<UnitTestResult testName=`"$([Security.SecurityElement]::Escape($name))`" outcome=`"Passed`" />" }) +
            @(foreach ($name in $Skipped) { "<UnitTestResult testName=`"$([Security.SecurityElement]::Escape($name))`" outcome=`"NotExecuted`" />" })
        @"
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results>$($results -join '')</Results>
  <ResultSummary outcome="$Outcome">
    <Counters total="$($Passed + $Failed + $Skipped.Count)" executed="$($Passed + $Failed)" passed="$Passed" failed="$Failed" error="0" timeout="0" aborted="0" inconclusive="0" notExecuted="$($Skipped.Count)" />
  </ResultSummary>
</TestRun>
"@ | Set-Content -LiteralPath $Path
        return $Path
    }

    function script:New-Floor([string] $Json) {
        $path = Join-Path $TestDrive "floor-$([guid]::NewGuid().ToString('N')).json"
        Set-Content -LiteralPath $path -Value $Json
        return $path
    }

    $script:GoodFloor = '{ "xunit": 10, "pester": 5, "allowedSkips": { "xunit": [ "Allowed.Test" ], "pester": [] }, "reasons": { "Allowed.Test": "fabricated" } }'

    function script:Get-GoodPester { @{ Runner = 'Pester'; Passed = 5; Failed = 0; Skipped = @(); ExitCode = 0; Outcome = 'Passed' } }
    function script:Get-GoodUnit { @{ Runner = 'xunit'; Passed = 10; Failed = 0; Skipped = @(); ExitCode = 0; Outcome = 'Completed' } }

    # Runs Complete-TestRun and returns its exit code and every host line it printed.
    function script:Complete([hashtable] $Unit, [hashtable] $Pester, [string] $FloorPath, [bool] $IsCi = $false, [string] $FiguresPath = '') {
        $code = $null
        $lines = @(& { $script:code = Complete-TestRun $Unit $Pester $FloorPath $IsCi $FiguresPath } 6>&1 | ForEach-Object { "$_" })
        [pscustomobject]@{ ExitCode = $script:code; Lines = $lines }
    }

    # Starts the real Pester runner in a fresh pwsh on a folder of fabricated tests.
    function script:Invoke-Runner([string] $TestFolder) {
        $counts = Join-Path $TestDrive "counts-$([guid]::NewGuid().ToString('N')).json"
        $pester = Join-Path (Split-Path (Get-Module Pester).Path) 'Pester.psd1'
        $pwsh = @([Environment]::ProcessPath)
        if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet') { $pwsh += Join-Path $PSHOME 'pwsh.dll' }
        # What the runner printed, for the tests that check it ends without an error of its own.
        $script:RunnerOutput = @(& $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $Repo 'build/Invoke-PesterRun.ps1') `
            -PesterManifest $pester -ModuleRoot $TestDrive -TestPath $TestFolder -CountsPath $counts 2>&1 | ForEach-Object { "$_" })
        return Read-PesterRun $counts $LASTEXITCODE
    }
}

Describe 'build.ps1 -Task Test verdict' {
    It 'passes a complete run and ends with the closing line alone on the last line' {
        $run = Complete (Get-GoodUnit) (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 0
        $run.Lines[-1] | Should -BeExactly '15 passed, 0 failed, 0 skipped'
        # A parser looking for the pattern anywhere must find only the closing line.
        @($run.Lines | Where-Object { $_ -match $ClosingPattern }).Count | Should -Be 1
    }

    It 'fails a test host that crashed: TRX outcome Failed, counters all passed, exit code 1' {
        $trx = New-Trx (Join-Path $TestDrive 'crash.trx') -Outcome 'Failed' -Passed 12
        $unit = Read-UnitTestRun $trx 1
        $unit.Passed | Should -Be 12
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain 'ERROR: xunit exited with code 1'
        $run.Lines | Should -Contain "ERROR: xunit run outcome is 'Failed', not 'Completed'"
        $run.Lines[-1] | Should -BeExactly '17 passed, 0 failed, 0 skipped'
    }

    It 'fails the TRX of a real test host crash (Environment.FailFast in a test; tests/Pester/Fixtures/crashed-host.trx) and says why' {
        # Written by dotnet test 10 / xunit 2.9.3 when a test called Environment.FailFast: exit code 1,
        # outcome Failed, every counter 0, the reason in a RunInfo.
        $unit = Read-UnitTestRun (Join-Path $PSScriptRoot 'Fixtures/crashed-host.trx') 1
        $unit.Outcome | Should -Be 'Failed'
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain 'ERROR: xunit run error: The active test run was aborted. Reason: Test host process crashed : Process terminated.'
        $run.Lines | Should -Contain 'ERROR: xunit: only 0 tests ran, fewer than the floor of 10 in tests/test-floor.json'
        $run.Lines[-1] | Should -BeExactly '5 passed, 0 failed, 0 skipped'
    }

    It 'fails a TRX whose outcome is <outcome> even when the counters all passed and the exit code is 0' -ForEach @(
        @{ outcome = 'Aborted' }, @{ outcome = 'Failed' }, @{ outcome = 'Error' }, @{ outcome = '' }
    ) {
        $unit = Read-UnitTestRun (New-Trx (Join-Path $TestDrive "o$outcome.trx") -Outcome $outcome -Passed 12) 0
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain "ERROR: xunit run outcome is '$outcome', not 'Completed'"
    }

    It 'fails a TRX cut off mid-write, and still prints the closing line' {
        $trx = Join-Path $TestDrive 'torn.trx'
        (Get-Content -Raw -LiteralPath (New-Trx $trx -Outcome 'Completed' -Passed 12)).Substring(0, 200) | Set-Content -LiteralPath $trx -NoNewline
        $unit = Read-UnitTestRun $trx 0
        $unit.Outcome | Should -BeLike 'Unreadable*'
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines[-1] | Should -Match "^$ClosingPattern$"
    }

    It 'ends the log with each failed test, its message, its first stack frames and its last output lines, before the closing line' {
        # A CI record may keep only the end of the log: the reason a test failed must be there, not only its name.
        $output = (1..40 | ForEach-Object { "explored state $_" }) -join "`n"
        $trx = Join-Path $TestDrive 'failed-test.trx'
        @"
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results><UnitTestResult testName="Ns.Class.Passes" outcome="Passed" /><UnitTestResult testName="Ns.Class.Theory(operation: &quot;save&quot;)" outcome="Failed"><Output><StdOut>$output</StdOut><ErrorInfo><Message>1 of 30 crash states broke guarantee 2
first: save: crash after fsync</Message><StackTrace>   at Ns.Class.Theory(String operation) in /src/Class.cs:line 9
   at Frame2
   at Frame3
   at Frame4
   at Frame5
   at Frame6
   at Frame7
   at Frame8
   at Frame9-not-shown</StackTrace></ErrorInfo></Output></UnitTestResult></Results>
  <ResultSummary outcome="Failed">
    <Counters total="12" executed="12" passed="11" failed="1" error="0" timeout="0" aborted="0" inconclusive="0" notExecuted="0" />
  </ResultSummary>
</TestRun>
"@ | Set-Content -LiteralPath $trx
        $unit = Read-UnitTestRun $trx 1
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines[-1] | Should -BeExactly '16 passed, 1 failed, 0 skipped'
        $at = [array]::IndexOf($run.Lines, 'FAILED (xunit): Ns.Class.Theory(operation: "save")')
        $at | Should -BeGreaterThan -1
        $shown = $run.Lines[$at..($run.Lines.Count - 1)]
        $shown | Should -Contain '    1 of 30 crash states broke guarantee 2'
        $shown | Should -Contain '    first: save: crash after fsync'
        @($shown | Where-Object { $_.Trim() -eq 'at Frame8' }).Count | Should -Be 1
        @($shown | Where-Object { $_ -like '*Frame9-not-shown*' }).Count | Should -Be 0
        $shown | Should -Contain '    explored state 40'
        $shown | Should -Not -Contain '    explored state 25'
        @($run.Lines | Where-Object { $_ -like 'FAILED (xunit): Ns.Class.Passes*' }).Count | Should -Be 0
    }

    It 'reads failed tests that wrote no output or no stack trace under build.ps1''s strict mode, and still ends with the closing line' {
        # build.ps1 runs with Set-StrictMode -Version 3.0: reading a TRX element that is not there (a failed test
        # with no StdOut, the usual case; an ErrorInfo without StackTrace) threw, ending the task before the Pester
        # run and before the closing line.
        $trx = Join-Path $TestDrive 'failed-no-output.trx'
        @"
<?xml version="1.0" encoding="utf-8"?>
<TestRun xmlns="http://microsoft.com/schemas/VisualStudio/TeamTest/2010">
  <Results><UnitTestResult testName="Ns.Class.Passes" outcome="Passed" /><UnitTestResult testName="Ns.Class.NoOutput" outcome="Failed"><Output><ErrorInfo><Message>Assert.Equal() Failure &lt;3&gt; &amp; more</Message><StackTrace>   at Ns.Class.NoOutput()</StackTrace></ErrorInfo></Output></UnitTestResult><UnitTestResult testName="Ns.Class.NoStack" outcome="Failed"><Output><StdOut>said something</StdOut><ErrorInfo><Message><![CDATA[in <CDATA>]]></Message></ErrorInfo></Output></UnitTestResult><UnitTestResult testName="Ns.Class.OnlyOutput" outcome="Failed"><Output><StdOut>only output</StdOut></Output></UnitTestResult></Results>
  <ResultSummary outcome="Failed">
    <Counters total="4" executed="4" passed="1" failed="3" error="0" timeout="0" aborted="0" inconclusive="0" notExecuted="0" />
  </ResultSummary>
</TestRun>
"@ | Set-Content -LiteralPath $trx
        $unit = & { Set-StrictMode -Version 3.0; Read-UnitTestRun $trx 1 }
        $run = & { Set-StrictMode -Version 3.0; Complete $unit (Get-GoodPester) (New-Floor $GoodFloor) }
        $run.ExitCode | Should -Be 1
        $run.Lines[-1] | Should -BeExactly '6 passed, 3 failed, 0 skipped'
        $run.Lines | Should -Contain 'FAILED (xunit): Ns.Class.NoOutput'
        $run.Lines | Should -Contain '    Assert.Equal() Failure <3> & more'
        $run.Lines | Should -Contain '    in <CDATA>'
        $run.Lines | Should -Contain '    said something'
        $run.Lines | Should -Contain 'FAILED (xunit): Ns.Class.OnlyOutput'
    }

    It 'keeps the closing line the only line of its form when a failed test''s message or output holds one' {
        # A failed TestHarness test's message quotes closing lines ("Expected '15 passed, 0 failed, 0 skipped' ...");
        # printed as it is, a parser looking for the pattern anywhere would find a run with no failures first.
        $unit = Get-GoodUnit
        $unit.Failed = 1
        $unit.ExitCode = 1
        $unit.Failures = @([pscustomobject]@{ Name = 'Ns.Class.Quotes(line: "2 passed, 1 failed, 0 skipped")'; Message = "Expected strings to be the same, but they were different.`nExpected: '15 passed, 0 failed, 0 skipped'"
            Stack = ''; Output = '3 passed, 0 failed, 0 skipped' })
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines[-1] | Should -BeExactly '15 passed, 1 failed, 0 skipped'
        @($run.Lines | Where-Object { $_ -match $ClosingPattern }).Count | Should -Be 1
        @($run.Lines | Where-Object { $_ -like '*Expected:*15 passed*' }).Count | Should -Be 1
    }

    It 'fails when the TRX or the Pester counts were never written' {
        $unit = Read-UnitTestRun (Join-Path $TestDrive 'absent.trx') 0
        $pester = Read-PesterRun (Join-Path $TestDrive 'absent.json') 0
        $run = Complete $unit $pester (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain "ERROR: xunit run outcome is 'NoResults', not 'Completed'"
        $run.Lines | Should -Contain "ERROR: Pester run outcome is 'NoResults', not 'Passed'"
        $run.Lines[-1] | Should -BeExactly '0 passed, 0 failed, 0 skipped'
    }

    It 'fails when fewer tests ran than the floor' {
        $unit = Get-GoodUnit; $unit.Passed = 9
        $run = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain 'ERROR: xunit: only 9 tests ran, fewer than the floor of 10 in tests/test-floor.json'
    }

    It 'counts an allowed skip toward the floor, so a machine where an allowed test skips still meets it' {
        # The CI run of stop 21 failed this way: the floor was met only when the allowed tests passed.
        $trx = New-Trx (Join-Path $TestDrive 'allowed-skip.trx') -Outcome 'Completed' -Passed 9 -Skipped 'Allowed.Test'
        $run = Complete (Read-UnitTestRun $trx 0) (Get-GoodPester) (New-Floor $GoodFloor) -IsCi $true
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        $run.Lines[-1] | Should -BeExactly '14 passed, 0 failed, 1 skipped'
    }

    It 'does not count a skip that is not allowed toward the floor' {
        $trx = New-Trx (Join-Path $TestDrive 'required-skip.trx') -Outcome 'Completed' -Passed 9 -Skipped 'Required.Test'
        $run = Complete (Read-UnitTestRun $trx 0) (Get-GoodPester) (New-Floor $GoodFloor) -IsCi $false
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain 'ERROR: xunit: only 9 tests ran, fewer than the floor of 10 in tests/test-floor.json'
    }

    It 'counts and lists skips; under CI=true only the allowed ones pass' {
        $trx = New-Trx (Join-Path $TestDrive 'skips.trx') -Outcome 'Completed' -Passed 10 -Skipped 'Allowed.Test', 'Required.Test'
        $unit = Read-UnitTestRun $trx 0
        $local = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor) -IsCi $false
        $local.ExitCode | Should -Be 0
        $local.Lines | Should -Contain 'SKIPPED (xunit, NotExecuted): Required.Test'
        $local.Lines | Should -Contain 'SKIPPED (xunit, NotExecuted, allowed): Allowed.Test'
        $local.Lines[-1] | Should -BeExactly '15 passed, 0 failed, 2 skipped'
        $ci = Complete $unit (Get-GoodPester) (New-Floor $GoodFloor) -IsCi $true
        $ci.ExitCode | Should -Be 1
        $ci.Lines | Should -Contain "ERROR: xunit: required test 'Required.Test' did not pass (NotExecuted) under CI=true"
        @($ci.Lines | Where-Object { $_ -like 'ERROR:*Allowed.Test*' }) | Should -BeNullOrEmpty
        $ci.Lines[-1] | Should -BeExactly '15 passed, 0 failed, 2 skipped'
    }

    # tests/test-floor.json's allowedSkips were matched as prefixes: 'DataraxCkpt.Tests.' with a reason allowed every skip under CI.
    It 'refuses an allowed skip that is a prefix of test names (<case>), naming the entry, and allows none of the skips it begins' -ForEach @(
        @{ case = 'a namespace'; entry = 'Ns.' }
        @{ case = 'a truncated method name'; entry = 'Ns.Class.Skips_on_small' }
    ) {
        $floor = New-Floor ('{ "xunit": 3, "pester": 5, "allowedSkips": { "xunit": [ "' + $entry + '" ], "pester": [] }, "reasons": { "' + $entry + '": "fabricated" } }')
        $trx = New-Trx (Join-Path $TestDrive "prefix-$($entry.Length).trx") -Outcome 'Completed' -Passed 3 -PassedNames 'Ns.Class.A', 'Ns.Class.B', 'Ns.Other.C' -Skipped 'Ns.Class.Skips_on_small_machines'
        $run = Complete (Read-UnitTestRun $trx 0) (Get-GoodPester) $floor -IsCi $true
        $run.ExitCode | Should -Be 1
        @($run.Lines | Where-Object { $_ -like "ERROR: tests/test-floor.json: allowedSkips.xunit entry '$entry' names no test: it begins the names of * that ran*" }).Count | Should -Be 1
        $run.Lines | Should -Contain "ERROR: xunit: required test 'Ns.Class.Skips_on_small_machines' did not pass (NotExecuted) under CI=true"
        $run.Lines | Should -Contain 'SKIPPED (xunit, NotExecuted): Ns.Class.Skips_on_small_machines'
    }

    It 'allows a skip named by its full name, a theory case by its display name, and every case of a theory by its method name' {
        $floor = New-Floor ('{ "xunit": 5, "pester": 5, "allowedSkips": { "xunit": [ "Ns.Class.Fact_that_skips", "Ns.Class.Theory(x: 1)", "Ns.Class.Other_theory" ], "pester": [] }, ' +
            '"reasons": { "Ns.Class.Fact_that_skips": "f", "Ns.Class.Theory(x: 1)": "f", "Ns.Class.Other_theory": "f" } }')
        $skipped = 'Ns.Class.Fact_that_skips', 'Ns.Class.Theory(x: 1)', 'Ns.Class.Other_theory(y: "a")', 'Ns.Class.Other_theory(y: "b")'
        $trx = New-Trx (Join-Path $TestDrive 'full-names.trx') -Outcome 'Completed' -Passed 2 -PassedNames 'Ns.Class.Theory(x: 2)', 'Ns.Class.Fact_that_skips_too' -Skipped $skipped
        $run = Complete (Read-UnitTestRun $trx 0) (Get-GoodPester) $floor -IsCi $true
        $run.ExitCode | Should -Be 0 -Because ($run.Lines -join "`n")
        @($run.Lines | Where-Object { $_ -like 'SKIPPED (xunit, NotExecuted, allowed): *' }).Count | Should -Be 4
        # The theory's other case is not allowed by the one case's display name.
        $trx = New-Trx (Join-Path $TestDrive 'other-case.trx') -Outcome 'Completed' -Passed 1 -PassedNames 'Ns.Class.Theory(x: 1)' -Skipped 'Ns.Class.Theory(x: 2)'
        $other = Complete (Read-UnitTestRun $trx 0) (Get-GoodPester) (New-Floor '{ "xunit": 1, "pester": 5, "allowedSkips": { "xunit": [ "Ns.Class.Theory(x: 1)" ], "pester": [] }, "reasons": { "Ns.Class.Theory(x: 1)": "f" } }') -IsCi $true
        $other.ExitCode | Should -Be 1
        $other.Lines | Should -Contain "ERROR: xunit: required test 'Ns.Class.Theory(x: 2)' did not pass (NotExecuted) under CI=true"
    }

    It 'writes the run figure line only for a clean run, so -Task Figures cannot render a failed one' {
        $figures = Join-Path $TestDrive 'figures.txt'
        Set-Content -LiteralPath $figures -Value 'FIGURE guarantee 1 | x | y'
        $failedUnit = Get-GoodUnit; $failedUnit.Failed = 1
        (Complete $failedUnit (Get-GoodPester) (New-Floor $GoodFloor) -FiguresPath $figures).ExitCode | Should -Be 1
        @(Get-Content -LiteralPath $figures | Where-Object { $_ -like 'FIGURE run *' }) | Should -BeNullOrEmpty
        (Complete (Get-GoodUnit) (Get-GoodPester) (New-Floor $GoodFloor) -FiguresPath $figures).ExitCode | Should -Be 0
        @(Get-Content -LiteralPath $figures | Where-Object { $_ -like 'FIGURE run | whole suite | xunit 10 passed, 0 failed, 0 skipped; Pester 5 passed*' }).Count | Should -Be 1
    }
}

Describe 'tests/test-floor.json is read strictly' {
    It 'fails the run, with the closing line, when the floor is <case>' -ForEach @(
        @{ case = 'missing'; json = $null }
        @{ case = 'not JSON'; json = '{ "xunit": ' }
        @{ case = 'without the xunit floor'; json = '{ "pester": 5, "allowedSkips": { "xunit": [], "pester": [] } }' }
        @{ case = 'null'; json = '{ "xunit": null, "pester": 5, "allowedSkips": { "xunit": [], "pester": [] } }' }
        @{ case = 'zero'; json = '{ "xunit": 0, "pester": 5, "allowedSkips": { "xunit": [], "pester": [] } }' }
        @{ case = 'a string'; json = '{ "xunit": "many", "pester": 5, "allowedSkips": { "xunit": [], "pester": [] } }' }
        @{ case = 'without allowedSkips'; json = '{ "xunit": 10, "pester": 5 }' }
    ) {
        $path = if ($null -eq $json) { Join-Path $TestDrive 'no-such-floor.json' } else { New-Floor $json }
        $run = Complete (Get-GoodUnit) (Get-GoodPester) $path
        $run.ExitCode | Should -Be 1
        @($run.Lines | Where-Object { $_ -like 'ERROR: tests/test-floor.json*' }).Count | Should -BeGreaterThan 0
        $run.Lines[-1] | Should -BeExactly '15 passed, 0 failed, 0 skipped'
    }

    It 'refuses an allow-list entry that would allow every skip (<case>)' -ForEach @(
        @{ case = 'null list'; list = 'null' }
        @{ case = 'empty name'; list = '[ "" ]' }
        @{ case = 'wildcard'; list = '[ "*" ]' }
        @{ case = 'entry without a reason'; list = '[ "Unexplained.Test" ]' }
    ) {
        $floor = New-Floor ('{ "xunit": 10, "pester": 5, "allowedSkips": { "xunit": ' + $list + ', "pester": [] }, "reasons": {} }')
        $unit = Read-UnitTestRun (New-Trx (Join-Path $TestDrive "al$case.trx") -Outcome 'Completed' -Passed 10 -Skipped 'Required.Test') 0
        $run = Complete $unit (Get-GoodPester) $floor -IsCi $true
        $run.ExitCode | Should -Be 1
        @($run.Lines | Where-Object { $_ -like 'ERROR: tests/test-floor.json*' }).Count | Should -BeGreaterThan 0
    }

    It 'the committed floor is valid and no higher than the last run of docs/figures/guarantees.txt' {
        $floor = Read-TestFloor (Join-Path $Repo 'tests/test-floor.json')
        $last = @(Get-Content -LiteralPath (Join-Path $Repo 'docs/figures/guarantees.txt') | Where-Object { $_ -like 'FIGURE run *' })
        $last.Count | Should -Be 1
        $last[0] -match 'xunit (\d+) passed, 0 failed, \d+ skipped; Pester (\d+) passed' | Should -BeTrue
        [int]$Matches[1] | Should -BeGreaterOrEqual $floor.xunit
        [int]$Matches[2] | Should -BeGreaterOrEqual $floor.pester
    }
}

Describe 'build/Invoke-PesterRun.ps1 on fabricated tests' {
    It 'counts a test file that does not parse as a failure' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'syntax')
        Set-Content -LiteralPath (Join-Path $folder 'Good.Tests.ps1') -Value "Describe 'g' { It 'passes' { 1 | Should -Be 1 } }"
        Set-Content -LiteralPath (Join-Path $folder 'Broken.Tests.ps1') -Value "Describe 'b' { It 'never parses' { 1 | Should -Be 1 "
        $pester = Invoke-Runner $folder
        $pester.ExitCode | Should -Be 1
        $pester.Failed | Should -BeGreaterThan 0
        $pester.Outcome | Should -Be 'Failed'
    }

    It 'lists -Skip, Set-ItResult -Skipped and -Inconclusive tests by name; under CI=true they fail the run' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'skips')
        Set-Content -LiteralPath (Join-Path $folder 'Skips.Tests.ps1') -Value @'
Describe 'S' {
    It 'runs' { 1 | Should -Be 1 }
    It 'is skipped' -Skip { 1 | Should -Be 2 }
    It 'skips itself' { Set-ItResult -Skipped -Because 'fabricated'; 1 | Should -Be 2 }
    It 'is inconclusive' { Set-ItResult -Inconclusive -Because 'fabricated' }
}
'@
        $pester = Invoke-Runner $folder
        $pester.ExitCode | Should -Be 0
        $pester.Passed | Should -Be 1
        @($pester.Skipped.Name | Sort-Object) | Should -Be @('S.is inconclusive', 'S.is skipped', 'S.skips itself')
        $floor = New-Floor '{ "xunit": 10, "pester": 1, "allowedSkips": { "xunit": [], "pester": [] }, "reasons": {} }'
        $run = Complete (Get-GoodUnit) $pester $floor -IsCi $true
        $run.ExitCode | Should -Be 1
        @($run.Lines | Where-Object { $_ -like "ERROR: Pester: required test 'S.*' did not pass*" }).Count | Should -Be 3
        $run.Lines[-1] | Should -BeExactly '11 passed, 0 failed, 3 skipped'
    }

    It 'writes why a test and a file failed into the counts, and the verdict shows it' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'failing')
        Set-Content -LiteralPath (Join-Path $folder 'Fails.Tests.ps1') -Value "Describe 'F' { It 'compares' { 'restored 3 steps' | Should -Be 'restored 4 steps' } }"
        Set-Content -LiteralPath (Join-Path $folder 'Broken.Tests.ps1') -Value "Describe 'b' { It 'never parses' { 1 | Should -Be 1 "
        $pester = Invoke-Runner $folder
        $pester.ExitCode | Should -Be 1
        $pester.Failed | Should -Be 2
        # The runner's exit code comes from its failure count, not from an error of its own at the end.
        @($RunnerOutput | Where-Object { $_ -match 'Cannot compare|RuntimeException|is not IComparable' }) | Should -BeNullOrEmpty
        $run = Complete (Get-GoodUnit) $pester (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain 'FAILED (Pester): F.compares'
        @($run.Lines | Where-Object { $_ -like '*restored 4 steps*' }).Count | Should -BeGreaterThan 0
        @($run.Lines | Where-Object { $_ -like 'FAILED (Pester): *Broken.Tests.ps1*' }).Count | Should -Be 1
        $run.Lines[-1] | Should -Match "^$ClosingPattern$"
    }

    It 'fails a run whose process ends before writing its counts (a test calling [Environment]::Exit(0))' {
        $folder = New-Item -ItemType Directory -Path (Join-Path $TestDrive 'exit')
        Set-Content -LiteralPath (Join-Path $folder 'Exit.Tests.ps1') -Value "Describe 'e' { It 'leaves' { [Environment]::Exit(0) } }"
        $pester = Invoke-Runner $folder
        $pester.Outcome | Should -Be 'NoResults'
        $run = Complete (Get-GoodUnit) $pester (New-Floor $GoodFloor)
        $run.ExitCode | Should -Be 1
        $run.Lines | Should -Contain "ERROR: Pester run outcome is 'NoResults', not 'Passed'"
    }
}

Describe 'Pester tests of this repository' {
    BeforeAll {
        # An It with no Should (or Set-ItResult) passes whatever happens; a `return` before the last
        # assertion passes the rest silently (allowed only right after Set-ItResult, which marks the test).
        function script:Get-SilentTest([string] $Path) {
            $ast = [Management.Automation.Language.Parser]::ParseFile($Path, [ref]$null, [ref]$null)
            $its = $ast.FindAll({ param($n) $n -is [Management.Automation.Language.CommandAst] -and $n.GetCommandName() -eq 'It' }, $true)
            foreach ($it in $its) {
                $body = $it.CommandElements | Where-Object { $_ -is [Management.Automation.Language.ScriptBlockExpressionAst] } | Select-Object -First 1
                $where = "$(Split-Path -Leaf $Path):$($it.Extent.StartLineNumber)"
                if (-not $body) { "$where has no body"; continue }
                $asserts = @($body.FindAll({ param($n) $n -is [Management.Automation.Language.CommandAst] -and $n.GetCommandName() -in 'Should', 'Set-ItResult' }, $true))
                if ($asserts.Count -eq 0) { "$where asserts nothing" }
                foreach ($return in $body.FindAll({ param($n) $n -is [Management.Automation.Language.ReturnStatementAst] }, $true)) {
                    $previous = $return.Parent.Statements[[array]::IndexOf(@($return.Parent.Statements), $return) - 1]
                    if ($return.Parent -isnot [Management.Automation.Language.NamedBlockAst] -and $return.Parent -isnot [Management.Automation.Language.StatementBlockAst]) { "$where returns early"; continue }
                    if ($null -eq $previous -or $previous.Extent.Text -notlike 'Set-ItResult *') { "$where returns early" }
                }
            }
        }
    }

    It 'finds a test that asserts nothing and one that returns early' {
        $file = Join-Path $TestDrive 'Silent.Tests.ps1'
        Set-Content -LiteralPath $file -Value @'
Describe 'x' {
    It 'asserts nothing' { $null = 1 + 1 }
    It 'returns early' { if ($true) { return }; 1 | Should -Be 1 }
    It 'skips properly' { if ($true) { Set-ItResult -Skipped -Because 'x'; return }; 1 | Should -Be 1 }
}
'@
        @(Get-SilentTest $file) | Should -Be @('Silent.Tests.ps1:2 asserts nothing', 'Silent.Tests.ps1:3 returns early')
    }

    It 'has no test that asserts nothing or returns early' {
        $silent = foreach ($file in Get-ChildItem -LiteralPath $PSScriptRoot -Filter '*.Tests.ps1') { Get-SilentTest $file.FullName }
        @($silent) | Should -BeNullOrEmpty
    }
}
