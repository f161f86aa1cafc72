# How build.ps1 -Task Test judges a run: reading the runners' results, the committed floor, and the
# closing line. Dot-sourced by build.ps1; tests/Pester/TestHarness.Tests.ps1 runs these functions on
# fabricated TRX and count files, so a harness that could report a false pass fails there.

function Read-UnitTestRun([string] $TrxPath, [int] $ExitCode) {
    $result = @{ Runner = 'xunit'; Passed = 0; Failed = 0; Skipped = @(); ExitCode = $ExitCode; Outcome = 'NoResults'; RunErrors = @() }
    if (-not (Test-Path $TrxPath)) { return $result }
    # A TRX cut off by a dying runner is a failed run like any other, not an exception that would end
    # the task before the Pester tests ran and before the closing line.
    try { $trx = [xml](Get-Content -Raw -LiteralPath $TrxPath) }
    catch { $result.Outcome = "Unreadable TRX ($($_.Exception.Message))"; return $result }
    $summary = $trx.TestRun.ResultSummary
    $counters = $summary.Counters
    $result.Outcome = [string]$summary.outcome
    $result.Passed = [int]$counters.passed
    $result.Failed = [int]$counters.failed + [int]$counters.error + [int]$counters.timeout + [int]$counters.aborted
    $ns = @{ t = 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010' }
    $result.Skipped = @(Select-Xml -Xml $trx -XPath '//t:UnitTestResult[@outcome!="Passed" and @outcome!="Failed"]' -Namespace $ns |
        ForEach-Object { [pscustomobject]@{ Name = $_.Node.testName; Outcome = $_.Node.outcome } })
    # Every test's name, passed or not, to check that each allowed skip names exactly one of them.
    $result.Names = @(Select-Xml -Xml $trx -XPath '//t:UnitTestResult' -Namespace $ns | ForEach-Object { [string]$_.Node.testName })
    # Why vstest aborted the run ("Test host process crashed : ..."), first line of each, to say so at the end.
    $result.RunErrors = @(Select-Xml -Xml $trx -XPath '//t:RunInfo[@outcome="Error"]/t:Text' -Namespace $ns |
        ForEach-Object { ($_.Node.InnerText -split "\r?\n")[0] })
    # Why each failed test failed, so that the end of the log (all a CI record may keep) says it.
    # Read by XPath, not by PowerShell's XML properties: under build.ps1's strict mode a missing element (a failed
    # test that wrote no output, an error without a stack trace) throws, and the run would end without its closing line.
    $manager = New-TrxNamespaceManager $trx
    $text = { param($node, [string] $path) $found = $node.SelectSingleNode($path, $manager); if ($found) { $found.InnerText } else { '' } }
    $result.Failures = @(Select-Xml -Xml $trx -XPath '//t:UnitTestResult[@outcome="Failed"]' -Namespace $ns | ForEach-Object {
        [pscustomobject]@{
            Name    = $_.Node.GetAttribute('testName')
            Message = & $text $_.Node 't:Output/t:ErrorInfo/t:Message'
            Stack   = & $text $_.Node 't:Output/t:ErrorInfo/t:StackTrace'
            Output  = & $text $_.Node 't:Output/t:StdOut'
        }
    })
    return $result
}

function New-TrxNamespaceManager([xml] $Trx) {
    $manager = [System.Xml.XmlNamespaceManager]::new($Trx.NameTable)
    $manager.AddNamespace('t', 'http://microsoft.com/schemas/VisualStudio/TeamTest/2010')
    # The comma keeps PowerShell from enumerating the manager (it is IEnumerable) into its prefixes.
    return , $manager
}

function Hide-ClosingForm([string] $Line) {
    # The closing line must stay the only line of its form: one quoted in a test's name, message or output loses its commas.
    $Line -replace '(\d+) passed, (\d+) failed, (\d+) skipped', '$1 passed; $2 failed; $3 skipped'
}

function Format-TestFailure($Run, [int] $MaxTests = 5) {
    # The failed tests of one runner with their messages, cut to a size a log tail keeps: the message's
    # first lines, the stack's first frames and the last lines the test wrote.
    if (-not $Run.ContainsKey('Failures')) { return }
    $failures = @($Run.Failures)
    foreach ($failure in ($failures | Select-Object -First $MaxTests)) {
        Hide-ClosingForm "FAILED ($($Run.Runner)): $($failure.Name)"
        foreach ($part in @(
                @{ Label = 'message'; Text = $failure.Message; Take = 'First'; Lines = 20 },
                @{ Label = 'stack'; Text = $failure.Stack; Take = 'First'; Lines = 8 },
                @{ Label = 'output (last lines)'; Text = $failure.Output; Take = 'Last'; Lines = 15 })) {
            $lines = @(([string]$part.Text).TrimEnd() -split '\r?\n' | Where-Object { $_ -ne '' })
            if ($lines.Count -eq 0) { continue }
            $kept = if ($part.Take -eq 'First') { $lines | Select-Object -First $part.Lines } else { $lines | Select-Object -Last $part.Lines }
            "  $($part.Label):"
            foreach ($line in $kept) {
                $line = if ($line.Length -gt 400) { $line.Substring(0, 400) + ' …' } else { $line }
                Hide-ClosingForm ('    ' + $line)
            }
        }
    }
    if ($failures.Count -gt $MaxTests) { "… and $($failures.Count - $MaxTests) more failed $($Run.Runner) tests (the full log above lists them)" }
}

function Read-PesterRun([string] $CountsPath, [int] $ExitCode) {
    $result = @{ Runner = 'Pester'; Passed = 0; Failed = 0; Skipped = @(); ExitCode = $ExitCode; Outcome = 'NoResults' }
    if (-not (Test-Path $CountsPath)) { return $result }
    try { $counts = Get-Content -Raw -LiteralPath $CountsPath | ConvertFrom-Json }
    catch { $result.Outcome = "Unreadable counts ($($_.Exception.Message))"; return $result }
    $result.Outcome = [string]$counts.Result
    $result.Passed = [int]$counts.Passed
    $result.Failed = [int]$counts.Failed
    $result.Skipped = @($counts.NotPassed | Where-Object { $_ })
    if ($counts.PSObject.Properties['Failures']) {
        $result.Failures = @($counts.Failures | Where-Object { $_ } | ForEach-Object {
            [pscustomobject]@{ Name = [string]$_.Name; Message = [string]$_.Message; Stack = [string]$_.Stack; Output = '' } })
    }
    if ($counts.PSObject.Properties['Names']) { $result.Names = @($counts.Names | Where-Object { $_ }) }
    return $result
}

function Test-SkipAllowed([string] $Runner, [string] $Name, [string] $Entry) {
    # An allowed skip names one test: its full name (a theory case's display name with its arguments, a Pester
    # test's expanded path), or a theory's method name, which allows its cases: 'Ns.Class.Method(x: 1)'. Never a
    # shorter prefix: 'DataraxCkpt.Tests.' with a reason would allow every skip under CI. Compared literally.
    if ($Name -ceq $Entry) { return $true }
    $Runner -eq 'xunit' -and $Name.StartsWith("$Entry(", [StringComparison]::Ordinal) -and $Name.EndsWith(')')
}

function Get-AllowListProblems($Run, [string[]] $AllowedSkips) {
    # An entry that is no test's full name yet begins the names of tests that ran is a prefix: refused, naming the
    # entry (it allows none of them; without this, the run would only say that those tests were not allowed to skip).
    $names = @($Run.Skipped | ForEach-Object { [string]$_.Name })
    if ($Run.ContainsKey('Names')) { $names += @($Run.Names) }
    $names = @($names | Where-Object { $_ } | Sort-Object -Unique)
    $runner = if ($Run.Runner -eq 'xunit') { 'xunit' } else { 'pester' }
    foreach ($entry in $AllowedSkips) {
        if (@($names | Where-Object { Test-SkipAllowed $Run.Runner $_ $entry }).Count -gt 0) { continue }
        $begun = @($names | Where-Object { $_.StartsWith($entry, [StringComparison]::Ordinal) })
        if ($begun.Count -gt 0) {
            $shown = ($begun | Select-Object -First 3) -join "', '"
            "tests/test-floor.json: allowedSkips.$runner entry '$entry' names no test: it begins the names of $($begun.Count) $(if ($begun.Count -eq 1) { 'test' } else { 'tests' }) that ran ('$shown'$(if ($begun.Count -gt 3) { ', …' })); an allowed skip names exactly one test (its full name, or a theory's method name)"
        }
    }
}

function Read-TestFloor([string] $Path) {
    # The floor guards against a runner that silently loses tests, so a floor that is missing, null, 0
    # or not a number, or an allow-list entry that would match every test, must fail the run rather
    # than switch the guard off.
    $name = 'tests/test-floor.json'
    if (-not (Test-Path -LiteralPath $Path -PathType Leaf)) { throw "$name is missing ($Path): the run cannot be judged without its floors." }
    try { $floor = Get-Content -Raw -LiteralPath $Path | ConvertFrom-Json -AsHashtable }
    catch { throw "$name is not valid JSON: $($_.Exception.Message)" }
    if ($floor -isnot [hashtable]) { throw "$name must hold a JSON object." }
    $checked = @{ AllowedSkips = @{} }
    $reasons = if ($floor['reasons'] -is [hashtable]) { $floor['reasons'] } else { @{} }
    foreach ($runner in 'xunit', 'pester') {
        $value = $floor[$runner]
        if (-not ($value -is [int] -or $value -is [long]) -or $value -lt 1) {
            throw "$name`: '$runner' must be a whole number of tests of at least 1 (found '$value'); raise it to just below the last full run."
        }
        $checked[$runner] = [int]$value
        # Assigned, not taken from an if expression, which would unroll a one-name list into a string.
        $allowed = 'absent'
        if ($floor['allowedSkips'] -is [hashtable] -and $floor['allowedSkips'].ContainsKey($runner)) { $allowed = $floor['allowedSkips'][$runner] }
        if ($allowed -isnot [array]) { throw "$name`: allowedSkips.$runner must be a list of test names (found '$allowed'); use [] for none." }
        foreach ($entry in $allowed) {
            if ($entry -isnot [string] -or [string]::IsNullOrWhiteSpace($entry) -or $entry.Contains('*')) {
                throw "$name`: allowedSkips.$runner holds '$entry', which would allow more than one named test to be skipped; list test names."
            }
            if (-not ($reasons.ContainsKey($entry) -and $reasons[$entry] -is [string] -and $reasons[$entry].Trim())) {
                throw "$name`: allowedSkips.$runner entry '$entry' has no reason under 'reasons'."
            }
        }
        $checked.AllowedSkips[$runner] = [string[]]@($allowed)
    }
    return [pscustomobject]@{ xunit = $checked.xunit; pester = $checked.pester; allowedSkips = [pscustomobject]$checked.AllowedSkips }
}

function Get-RunProblems($Run, [int] $Floor, [string[]] $AllowedSkips, [bool] $IsCi) {
    # Every way a runner can report less than a full, trustworthy run.
    $problems = @()
    $expectedOutcome = if ($Run.Runner -eq 'xunit') { 'Completed' } else { 'Passed' }
    if ($Run.ExitCode -ne 0) { $problems += "$($Run.Runner) exited with code $($Run.ExitCode)" }
    if ($Run.ContainsKey('RunErrors')) { foreach ($e in $Run.RunErrors) { $problems += "$($Run.Runner) run error: $e" } }
    if ($Run.Outcome -ne $expectedOutcome -and -not ($Run.Runner -eq 'xunit' -and $Run.Outcome -eq 'Failed' -and $Run.Failed -gt 0)) {
        $problems += "$($Run.Runner) run outcome is '$($Run.Outcome)', not '$expectedOutcome'"
    }
    # An allowed skip counts toward the floor: the test is there and was judged, and the floor is taken from a
    # run in which it may have passed or skipped.
    $ran = $Run.Passed + $Run.Failed
    $problems += @(Get-AllowListProblems $Run $AllowedSkips)
    foreach ($skip in $Run.Skipped) {
        $allowed = $AllowedSkips | Where-Object { Test-SkipAllowed $Run.Runner ([string]$skip.Name) $_ }
        Write-Host "SKIPPED ($($Run.Runner), $($skip.Outcome)$(if ($allowed) { ', allowed' })): $($skip.Name)"
        if ($allowed) { $ran++ }
        elseif ($IsCi) { $problems += "$($Run.Runner): required test '$($skip.Name)' did not pass ($($skip.Outcome)) under CI=true" }
    }
    if ($ran -lt $Floor) { $problems += "$($Run.Runner): only $ran tests ran, fewer than the floor of $Floor in tests/test-floor.json" }
    return $problems
}

function Complete-TestRun($Unit, $Pester, [string] $FloorPath, [bool] $IsCi, [string] $FiguresPath) {
    # Judges both runs, prints the summary and, last and whatever happened, the closing line
    # "N passed, N failed, N skipped" (the only line of that form, for CI's parser); returns the exit code.
    $problems = @()
    try {
        $floor = Read-TestFloor $FloorPath
        $problems += @(Get-RunProblems $Unit $floor.xunit $floor.allowedSkips.xunit $IsCi) +
            @(Get-RunProblems $Pester $floor.pester $floor.allowedSkips.pester $IsCi)
    }
    catch {
        $problems += "$($_.Exception.Message)"
        # Still judge and list everything else, with no skip allowed.
        $problems += @(Get-RunProblems $Unit 0 @() $IsCi) + @(Get-RunProblems $Pester 0 @() $IsCi)
    }
    $passed = $Unit.Passed + $Pester.Passed
    $failed = $Unit.Failed + $Pester.Failed
    $skipped = $Unit.Skipped.Count + $Pester.Skipped.Count
    $failing = $failed -gt 0 -or $problems.Count -gt 0
    foreach ($run in $Unit, $Pester) {
        Write-Host "$($run.Runner): passed $($run.Passed), failed $($run.Failed), skipped $($run.Skipped.Count), exit code $($run.ExitCode), outcome $($run.Outcome)"
    }
    if ($FiguresPath -and (Test-Path -LiteralPath $FiguresPath)) {
        if ($failing) {
            # No 'FIGURE run' line: -Task Figures refuses to render the figures of a failed or incomplete run.
            Write-Host "Figures of this run: $FiguresPath (not renderable: the run failed)"
        }
        else {
            Add-Content -LiteralPath $FiguresPath -Value ("FIGURE run | whole suite | xunit {0} passed, {1} failed, {2} skipped; Pester {3} passed, {4} failed, {5} skipped; {6:yyyy-MM-dd}" -f
                $Unit.Passed, $Unit.Failed, $Unit.Skipped.Count, $Pester.Passed, $Pester.Failed, $Pester.Skipped.Count, (Get-Date).ToUniversalTime())
            Write-Host "Figures of this run: $FiguresPath (render them into docs/guarantees.md with -Task Figures)"
        }
    }
    foreach ($run in $Unit, $Pester) {
        # Why tests failed is help for the reader; nothing in it may keep the verdict and the closing line from printing.
        try { foreach ($line in @(Format-TestFailure $run)) { Write-Host $line } }
        catch { Write-Host "(the failed $($run.Runner) tests' messages could not be shown: $($_.Exception.Message))" }
    }
    foreach ($problem in $problems) { Write-Host "ERROR: $problem" }
    Write-Host "$passed passed, $failed failed, $skipped skipped"
    return [int]$failing
}
