# Secrets (a SAS signature, an account key, a connection string's SAS) never reach what the cmdlets show: error
# records and the exceptions they carry, exceptions that escape a cmdlet, warnings, -Verbose and progress.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    # Everything a user, a transcript or a job log can see of an error: the record as printed, Format-List * -Force of
    # the record and of each exception in its chain (Data, InnerException, TargetSite …), Get-Error, ToString().
    function Get-ShownErrorTexts([Management.Automation.ErrorRecord] $Record) {
        "$Record"
        ($Record | Out-String)
        ($Record | Format-List * -Force | Out-String)
        (Get-Error -InputObject $Record | Out-String)
        # A target whose own ToString throws shows nothing of itself (PowerShell cannot show it either).
        try { "$($Record.TargetObject)" } catch { '' }
        "$($Record.ErrorDetails)"
        for ($e = $Record.Exception; $null -ne $e; $e = $e.InnerException) {
            $e.ToString()
            ($e | Format-List * -Force | Out-String)
            foreach ($key in $e.Data.Keys) { "$key"; "$($e.Data[$key])" }
            if ($e -is [AggregateException]) { foreach ($part in $e.InnerExceptions) { $part.ToString() } }
        }
    }

    # A state whose reading throws the given exception: the cmdlet meets it converting its input, outside any engine
    # call, the way a bug or an unexpected failure would escape.
    if (-not ('DataraxCkptTests.ThrowingState' -as [type])) {
        Add-Type -TypeDefinition @'
namespace DataraxCkptTests
{
    public sealed class ThrowingState : System.Collections.Hashtable
    {
        private readonly System.Exception _failure;
        public ThrowingState(System.Exception failure) { _failure = failure; }
        public override int Count => throw _failure;
    }

    public sealed class RequestFailedException : System.Exception
    {
        public RequestFailedException(string message, System.Exception inner) : base(message, inner) { }
    }
}
'@
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'An exception that escapes a cmdlet' {
    It '<kind> whose message holds sig=SECRET and whose inner exception holds AccountKey=SECRET still stops the command, still is <base>, and nothing $Error or a catch shows holds SECRET' -ForEach @(
        @{ kind = 'a NullReferenceException'; base = 'System.NullReferenceException'; type = 'System.NullReferenceException'; make = {
                $e = [NullReferenceException]::new('Reading https://acct.blob.core.windows.net/c/ck?sv=2020-08-04&sig=SECRET failed',
                    [Exception]::new('DefaultEndpointsProtocol=https;AccountName=acct;AccountKey=SECRET==;EndpointSuffix=core.windows.net'))
                $e.Data['Uri'] = 'https://acct.blob.core.windows.net/c/ck?sv=2020-08-04&sig=SECRET'
                $e } }
        @{ kind = 'an AggregateException'; base = 'System.AggregateException'; type = 'System.AggregateException'; make = {
                [AggregateException]::new('Two reads failed: sig=SECRET',
                    [IO.IOException]::new('https://acct.blob.core.windows.net/c/ck%3Fsv=2020-08-04%26sig%3DSECRET'),
                    [Exception]::new('"AccountKey=SECRET=="')) } }
        @{ kind = 'a RequestFailedException (an SDK''s type, rebuilt by its (string, Exception) constructor)'; base = 'DataraxCkptTests.RequestFailedException'; type = 'DataraxCkptTests.RequestFailedException'; make = {
                [DataraxCkptTests.RequestFailedException]::new('Status 403 for https://acct.blob.core.windows.net/c/ck?sv=2020-08-04 &sig=SECRET',
                    [Exception]::new('BlobEndpoint=https://acct.blob.core.windows.net;SharedAccessSignature=sv=2020-08-04&sig=SECRET')) } }
        @{ kind = 'an InvalidOperationException thrown outside an engine call'; base = 'System.InvalidOperationException'; type = 'System.InvalidOperationException'; make = {
                [InvalidOperationException]::new('accountkey = SECRET', [Exception]::new('sharedaccesssignature=SECRET')) } }
    ) {
        $state = [DataraxCkptTests.ThrowingState]::new((& $make))
        $dir = Join-Path $TestDrive 'escape'
        $Error.Clear()
        $reached = $false
        $caught = $null
        try {
            Save-Checkpoint -LiteralPath $dir -InputObject $state -Step 1
            $reached = $true
        }
        catch { $caught = $_ }
        $reached | Should -BeFalse -Because 'the failure still terminates the command, as it did'
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception | Should -BeOfType ([type]$base)
        $caught.FullyQualifiedErrorId | Should -BeExactly "$type,DataraxCkpt.Commands.SaveCheckpointCommand" -Because 'the id names the type that was thrown, as before'
        $typed = $null
        try { Save-Checkpoint -LiteralPath $dir -InputObject $state -Step 1 -ErrorAction SilentlyContinue } catch [Exception] { $typed = $_.Exception.GetType() }
        $typed | Should -Not -BeNullOrEmpty -Because '-ErrorAction SilentlyContinue does not turn it into a non-terminating error'
        $Error[0] | Should -Not -BeNullOrEmpty
        $texts = @(Get-ShownErrorTexts $caught) + @(Get-ShownErrorTexts $Error[0])
        ($texts -join "`n") | Should -BeLike '*<redacted>*' -Because 'the message is kept with its secret redacted'
        foreach ($text in $texts) {
            $text | Should -Not -BeLikeExactly '*SECRET*' -Because 'the test file''s name holds Secret, in any case'
        }
    }

    It '<kind> that holds a secret is still caught by catch [<type>], redacted, with the id and category it has without one' -ForEach @(
        # Found by the attack on redact16: these became a stand-in derived from Exception, so catch [ThatType] missed them.
        @{ kind = 'a NullReferenceException'; type = 'System.NullReferenceException'; make = { param($t) [NullReferenceException]::new("read $t failed", [Exception]::new("inner $t")) }
            catch = { param($run) try { & $run } catch [System.NullReferenceException] { $_ } } }
        @{ kind = 'an IndexOutOfRangeException'; type = 'System.IndexOutOfRangeException'; make = { param($t) [IndexOutOfRangeException]::new("index in $t") }
            catch = { param($run) try { & $run } catch [System.IndexOutOfRangeException] { $_ } } }
        @{ kind = 'an HttpRequestException'; type = 'System.Net.Http.HttpRequestException'; make = { param($t) [Net.Http.HttpRequestException]::new("GET $t failed", $null, [Net.HttpStatusCode]::Forbidden) }
            catch = { param($run) try { & $run } catch [System.Net.Http.HttpRequestException] { $_ } } }
        @{ kind = 'a JsonException'; type = 'System.Text.Json.JsonException'; make = { param($t) [Text.Json.JsonException]::new("bad JSON in $t", '$.token', 3, 7, $null) }
            catch = { param($run) try { & $run } catch [System.Text.Json.JsonException] { $_ } } }
        # redact18: it has no (string) constructor, so it became a stand-in derived from Exception with no SocketErrorCode.
        @{ kind = 'a SocketException'; type = 'System.Net.Sockets.SocketException'; make = { param($t) [Net.Sockets.SocketException]::new([int][Net.Sockets.SocketError]::ConnectionRefused, "connect to $t refused") }
            catch = { param($run) try { & $run } catch [System.Net.Sockets.SocketException] { $_ } } }
        # PowerShell's own family (found by the same attack): it passed the guard unredacted.
        @{ kind = 'a RuntimeException'; type = 'System.Management.Automation.RuntimeException'; make = { param($t) [Management.Automation.RuntimeException]::new("Cannot use '$t'") }
            catch = { param($run) try { & $run } catch [System.Management.Automation.RuntimeException] { $_ } } }
        @{ kind = 'a ParameterBindingException'; type = 'System.Management.Automation.ParameterBindingException'; make = { param($t) [Management.Automation.ParameterBindingException]::new("Cannot bind '$t'", [Exception]::new("inner $t")) }
            catch = { param($run) try { & $run } catch [System.Management.Automation.ParameterBindingException] { $_ } } }
        @{ kind = 'a PSInvalidCastException'; type = 'System.Management.Automation.PSInvalidCastException'; make = { param($t) [Management.Automation.PSInvalidCastException]::new("Cannot convert value `"$t`" to type `"System.Int64`".", $null) }
            catch = { param($run) try { & $run } catch [System.Management.Automation.PSInvalidCastException] { $_ } } }
        @{ kind = 'a RuntimeException with an error record of its own'; type = 'System.Management.Automation.RuntimeException'; make = { param($t)
                $e = [Management.Automation.RuntimeException]::new("Cannot use '$t'")
                [Management.Automation.RuntimeException]::new("Cannot use '$t'", $null, [Management.Automation.ErrorRecord]::new($e, 'OwnId', 'InvalidData', $t)) }
            catch = { param($run) try { & $run } catch [System.Management.Automation.RuntimeException] { $_ } } }
    ) {
        $dir = Join-Path $TestDrive 'typed'
        $plain = & $catch { Save-Checkpoint -LiteralPath $dir -InputObject ([DataraxCkptTests.ThrowingState]::new((& $make 'plain text'))) -Step 1 }
        $plain | Should -Not -BeNullOrEmpty -Because 'without a secret it is caught by its type'
        $Error.Clear()
        # Made on a line of its own: the line of the call is shown by Get-Error (InvocationInfo.Line) and is no exception's text.
        $state = [DataraxCkptTests.ThrowingState]::new((& $make 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET==;x https://a.blob.core.windows.net/c?sv=1&sig=SECRET'))
        $caught = & $catch { Save-Checkpoint -LiteralPath $dir -InputObject $state -Step 1 }
        $caught | Should -Not -BeNullOrEmpty -Because "catch [$type] still matches once the secret is redacted"
        $caught.Exception.GetType().FullName | Should -BeExactly $type
        $caught.FullyQualifiedErrorId | Should -BeExactly $plain.FullyQualifiedErrorId
        $caught.CategoryInfo.Category | Should -Be $plain.CategoryInfo.Category
        if ($null -ne $plain.Exception.InnerException) {
            $caught.Exception.InnerException.GetType() | Should -Be $plain.Exception.InnerException.GetType()
        }
        foreach ($property in 'StatusCode', 'Path', 'LineNumber', 'BytePositionInLine', 'SocketErrorCode', 'ErrorCode', 'NativeErrorCode') {
            if ($plain.Exception.PSObject.Properties[$property]) {
                $caught.Exception.$property | Should -Be $plain.Exception.$property -Because "its $property is kept"
            }
        }
        $texts = @(Get-ShownErrorTexts $caught) + @(Get-ShownErrorTexts $Error[0])
        ($texts -join "`n") | Should -BeLike '*<redacted>*'
        foreach ($text in $texts) {
            $text | Should -Not -BeLikeExactly '*SECRET*'
        }
    }

    It 'a PowerShell exception whose message is clean but whose own record holds the secret (<where>) shows no SECRET' -ForEach @(
        # Attack on redact17: the guard looks at the exception's message, inner exceptions and Data only, so this
        # escaped as it was, and PowerShell showed its record's target and details.
        @{ where = 'its TargetObject'; make = {
                $e = [Management.Automation.RuntimeException]::new('Cannot use the connection')
                [Management.Automation.RuntimeException]::new('Cannot use the connection', $null,
                    [Management.Automation.ErrorRecord]::new($e, 'OwnId', 'InvalidData', 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET==')) } }
        @{ where = 'its ErrorDetails'; make = {
                $e = [Management.Automation.RuntimeException]::new('Cannot use the connection')
                $record = [Management.Automation.ErrorRecord]::new($e, 'OwnId', 'InvalidData', $null)
                $record.ErrorDetails = [Management.Automation.ErrorDetails]::new('Cannot use https://a.blob.core.windows.net/c?sv=1&sig=SECRET')
                [Management.Automation.RuntimeException]::new('Cannot use the connection', $null, $record) } }
        # Final review of session 17: the message holds the secret and the target's own ToString throws; making the
        # redacted record called that ToString, and its error replaced the one being reported (id and type lost).
        @{ where = 'its message, with a target whose ToString throws'; make = {
                $target = [pscustomobject]@{ Name = 'target' }
                $target | Add-Member -MemberType ScriptMethod -Name ToString -Value { throw 'ToString of the target failed' } -Force
                $e = [Management.Automation.RuntimeException]::new('Cannot use AccountKey=SECRET==')
                [Management.Automation.RuntimeException]::new('Cannot use AccountKey=SECRET==', $null,
                    [Management.Automation.ErrorRecord]::new($e, 'OwnId', 'InvalidData', $target)) } }
    ) {
        $state = [DataraxCkptTests.ThrowingState]::new((& $make))
        $Error.Clear()
        $caught = $null
        try { Save-Checkpoint -LiteralPath (Join-Path $TestDrive 'record') -InputObject $state -Step 1 } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeLike 'OwnId*'
        $texts = @(Get-ShownErrorTexts $caught) + @(Get-ShownErrorTexts $Error[0]) + @($(try { "$($caught.Exception.ErrorRecord.TargetObject)" } catch { '' }), "$($caught.Exception.ErrorRecord.ErrorDetails)")
        foreach ($text in $texts) {
            $text | Should -Not -BeLikeExactly '*SECRET*'
        }
    }

    It 'a script''s throw downstream of a cmdlet, quoting a secret, shows no SECRET, also not in its FullyQualifiedErrorId' {
        # Attack on redact17: 'throw <text>' makes the text the record's error id; the guard kept that id as it was.
        $dir = Join-Path $TestDrive 'downstream'
        Save-Checkpoint -LiteralPath $dir -InputObject @{ a = 1 } -Step 1 | Out-Null
        $Error.Clear()
        $caught = $null
        # Made on a line of its own: the line of the throw is shown by Get-Error (InvocationInfo.Line).
        $message = 'bad AccountKey=SECRET=='
        try { Get-Checkpoint -LiteralPath $dir | ForEach-Object { throw $message } } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -Not -BeLikeExactly '*SECRET*'
        foreach ($text in @(Get-ShownErrorTexts $caught) + @(Get-ShownErrorTexts $Error[0])) {
            $text | Should -Not -BeLikeExactly '*SECRET*'
        }
    }

    It 'a script''s throw downstream of a cmdlet, quoting a secret, is in $Error[0] what it is without one: the script''s id, position and flag, not the cmdlet''s' {
        # redact18: the guard stopped the command with a record of its own, so the throw was re-attributed to the cmdlet:
        # its id gained ',DataraxCkpt.Commands.GetCheckpointCommand', its InvocationInfo became the cmdlet's.
        $dir = Join-Path $TestDrive 'downstream-attribution'
        Save-Checkpoint -LiteralPath $dir -InputObject @{ a = 1 } -Step 1 | Out-Null
        $plainMessage = 'downstream failed'
        $secretMessage = 'downstream failed AccountKey=SECRET=='
        $Error.Clear()
        $plain = $null
        try { Get-Checkpoint -LiteralPath $dir | ForEach-Object { throw $plainMessage } } catch { $plain = $_ }
        $plainError = $Error[0]
        $Error.Clear()
        $caught = $null
        try { Get-Checkpoint -LiteralPath $dir | ForEach-Object { throw $secretMessage } } catch { $caught = $_ }
        $shownError = $Error[0]
        $plain | Should -Not -BeNullOrEmpty
        $caught | Should -Not -BeNullOrEmpty
        $plain.FullyQualifiedErrorId | Should -BeExactly 'downstream failed' -Because 'a script''s throw is the script''s error, not the cmdlet''s'
        foreach ($pair in @(, @($plain, $caught)) + @(, @($plainError, $shownError))) {
            $p, $s = $pair
            $s.FullyQualifiedErrorId | Should -BeExactly 'downstream failed AccountKey=<redacted>'
            $s.CategoryInfo.Category | Should -Be $p.CategoryInfo.Category
            $s.CategoryInfo.Activity | Should -Be $p.CategoryInfo.Activity
            $s.InvocationInfo.MyCommand.Name | Should -Be $p.InvocationInfo.MyCommand.Name
            $s.InvocationInfo.Line | Should -BeLike '*throw $secretMessage*' -Because 'the position is the throw''s, not the cmdlet''s'
            $s.InvocationInfo.OffsetInLine | Should -Be $p.InvocationInfo.OffsetInLine
            $s.InvocationInfo.ScriptLineNumber | Should -Be ($p.InvocationInfo.ScriptLineNumber + 4) -Because 'the secret''s throw stands four lines below the plain one'
            # The throw's call stack (its script block inside ForEach-Object's), not the one where the cmdlet stopped.
            ($s.ScriptStackTrace -split '\r?\n').Count | Should -Be ($p.ScriptStackTrace -split '\r?\n').Count
            ($s.ScriptStackTrace -split '\r?\n')[0] | Should -BeLike "*line $($s.InvocationInfo.ScriptLineNumber)"
            $s.Exception.GetType() | Should -Be $p.Exception.GetType()
            $s.Exception.WasThrownFromThrowStatement | Should -Be $p.Exception.WasThrownFromThrowStatement
        }
        foreach ($text in @(Get-ShownErrorTexts $caught) + @(foreach ($record in $Error) { if ($record -is [Management.Automation.ErrorRecord]) { Get-ShownErrorTexts $record } })) {
            $text | Should -Not -BeLikeExactly '*SECRET*'
        }
    }

    # Attack on redact18: each still shows SECRET in the catch, $Error or the -ErrorVariable a user gave.
    It 'Attack on redact18: a downstream <what> shows no secret' -ForEach @(
        # OwnRecords.HoldsSecret checks the target and details but not the id, which ForCmdlet and Thrown do scrub.
        @{ what = 'throw of a record whose error id quotes the secret'; run = { param($dir, $secret) Get-Checkpoint -LiteralPath $dir | ForEach-Object { throw [Management.Automation.ErrorRecord]::new([Exception]::new('failed'), "AccountKey=$secret", 'NotSpecified', $null) } } }
        # ForgetOriginal replaced the entry in $Error, not the one ForEach-Object put in its -ErrorVariable (it now looks
        # through every list a variable visible to the cmdlet holds).
        @{ what = 'throw with ForEach-Object -ErrorVariable'; run = { param($dir, $secret) Get-Checkpoint -LiteralPath $dir | ForEach-Object -ErrorVariable script:attackVariable { throw "AccountKey=$secret" } } }
        # PowerShell fills a list the user made and passes as -ErrorVariable +name as it is: a List[object] kept the
        # secret under the review's first cut, which looked through ArrayLists only (attack on session 18's review fixes).
        @{ what = 'throw with ForEach-Object -ErrorVariable +name into a List[object]'; run = { param($dir, $secret)
                $script:attackVariable = [System.Collections.Generic.List[object]]::new()
                Get-Checkpoint -LiteralPath $dir | ForEach-Object -ErrorVariable +script:attackVariable { throw "AccountKey=$secret" } } }
        # The same for an advanced function's -ErrorVariable, and for the guard's other path (a kind of RuntimeException,
        # stopped with the cmdlet's record: OwnRecords.ForCmdlet): found while fixing the attack on redact18.
        @{ what = 'throw in an advanced function with -ErrorVariable'; run = { param($dir, $secret)
                function Fail { [CmdletBinding()] param([Parameter(ValueFromPipeline)] $InputObject) process { throw "AccountKey=$secret" } }
                Get-Checkpoint -LiteralPath $dir | Fail -ErrorVariable script:attackVariable } }
        # Session 19 (item 4): the list PowerShell fills is in a scope where a nearer variable of the same name hides it from
        # the cmdlet (the variable: drive lists the nearest only): a -ErrorVariable script:name from a function with a local
        # of that name, and a caller's -ErrorVariable on an advanced function that has a local of that name (PowerShell
        # also fills the error variables of the commands the failing one runs in).
        @{ what = 'throw with ForEach-Object -ErrorVariable script:name that a local of the same name hides'; run = { param($dir, $secret)
                $attackVariable = 'a local of the same name'
                Get-Checkpoint -LiteralPath $dir | ForEach-Object -ErrorVariable script:attackVariable { throw "AccountKey=$secret" } } }
        @{ what = 'throw in an advanced function whose caller''s -ErrorVariable a local of the same name hides'; run = { param($dir, $secret)
                function Run { [CmdletBinding()] param($Dir, $Secret) $attackVariable = 'a local of the same name'; Get-Checkpoint -LiteralPath $Dir | ForEach-Object { throw "AccountKey=$Secret" } }
                Run -Dir $dir -Secret $secret -ErrorVariable script:attackVariable } }
        # Without the ForgetOriginal call on the ForCmdlet path this case shows SECRET in $Error and the -ErrorVariable (checked).
        @{ what = 'throw of an ItemNotFoundException with ForEach-Object -ErrorVariable'; run = { param($dir, $secret) Get-Checkpoint -LiteralPath $dir | ForEach-Object -ErrorVariable script:attackVariable { throw [Management.Automation.ItemNotFoundException]::new("AccountKey=$secret") } } }
        # Its message is clean and its record's exception, which quotes the secret, is not in its inner chain (as an
        # ActionPreferenceStopException's is not): leaked without HoldsSecret's check of that exception (checked).
        @{ what = 'throw of a RuntimeException whose record''s own exception quotes the secret'; run = { param($dir, $secret)
                Get-Checkpoint -LiteralPath $dir | ForEach-Object {
                    $record = [Management.Automation.ErrorRecord]::new([Exception]::new("AccountKey=$secret"), 'Failed', 'NotSpecified', $null)
                    throw [Management.Automation.RuntimeException]::new('clean', $null, $record) } } }
        @{ what = 'throw of a record whose category texts (activity, reason, target name and type) a script set quote the secret'; run = { param($dir, $secret)
                Get-Checkpoint -LiteralPath $dir | ForEach-Object {
                    $record = [Management.Automation.ErrorRecord]::new([Exception]::new('failed'), 'Failed', 'NotSpecified', $null)
                    $record.CategoryInfo.Activity = "upload AccountKey=$secret"
                    $record.CategoryInfo.Reason = "AccountKey=$secret"
                    $record.CategoryInfo.TargetName = "AccountKey=$secret"
                    $record.CategoryInfo.TargetType = "AccountKey=$secret"
                    throw $record } } }
    ) {
        $dir = Join-Path $TestDrive 'attack-redact18'
        if (-not (Test-Path $dir)) { Save-Checkpoint -LiteralPath $dir -InputObject @{ a = 1 } -Step 1 | Out-Null }
        $script:attackVariable = $null
        $Error.Clear()
        $caught = $null
        try { & $run $dir ('SEC' + 'RET==') } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $records = @($caught) + @($Error) + @($script:attackVariable) | Where-Object { $_ -is [Management.Automation.ErrorRecord] }
        if ($what -like '*hides') {
            @($script:attackVariable | Where-Object { $_ -is [Management.Automation.ErrorRecord] }).Count | Should -BeGreaterThan 0 -Because 'PowerShell filled the hidden list'
        }
        foreach ($record in $records) {
            foreach ($text in Get-ShownErrorTexts $record) { $text | Should -Not -BeLikeExactly '*SECRET*' }
        }
    }

    # Final review of session 18: the search of error lists wrote an ErrorRecord into a user's List[Exception] (which threw
    # an ArgumentException in place of the redacted error) and turned a user's ArrayList entry from an exception into a record.
    It 'a downstream rethrow whose exception a catch kept in lists of its own gives the redacted error, a typed list untouched and an ArrayList entry still an exception' {
        $dir = Join-Path $TestDrive 'review-s18'
        if (-not (Test-Path $dir)) { Save-Checkpoint -LiteralPath $dir -InputObject @{ a = 1 } -Step 1 | Out-Null }
        $secret = 'SEC' + 'RET=='
        $script:typedSeen = [System.Collections.Generic.List[Exception]]::new()
        $script:plainSeen = [System.Collections.ArrayList]::new()
        $Error.Clear()
        $caught = $null
        try {
            Get-Checkpoint -LiteralPath $dir | ForEach-Object {
                try { throw "AccountKey=$secret" } catch { $script:typedSeen.Add($_.Exception); [void]$script:plainSeen.Add($_.Exception); throw }
            }
        } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception | Should -Not -BeOfType [ArgumentException]
        foreach ($text in Get-ShownErrorTexts $caught) { $text | Should -Not -BeLikeExactly '*SECRET*' }
        $script:typedSeen.Count | Should -Be 1
        $script:plainSeen.Count | Should -Be 1
        $script:plainSeen[0] | Should -BeOfType [Exception]
        $script:plainSeen[0].Message | Should -Not -BeLikeExactly '*SECRET*'
    }

    # Known gap (docs/guarantees.md): a downstream command's own terminating error (Write-Error -ErrorAction Stop, an
    # ActionPreferenceStopException) is recorded by PowerShell's pipeline as the pipeline's failure, and the cmdlet upstream
    # is only stopped: its guard meets a PipelineStoppedException that quotes nothing (checked: the catch then gets the
    # Write-Error record as PowerShell kept it, untouched by the module). The secret is the script's own text, shown as it
    # is without the module (Get-Checkpoint not in the pipeline); the module has no record of its own to redact.
    # The gap is pinned, not skipped (a skip under CI fails the run, and a test that never runs cannot fail): the caller
    # gets the same record with or without the module in the pipeline. If PowerShell ever hands the guard this error, this
    # fails, and the guard can then redact it.
    It 'leaves a downstream Write-Error -ErrorAction Stop to PowerShell: the caller gets the record it gets without the module (known gap)' {
        $dir = Join-Path $TestDrive 'attack-redact18'
        if (-not (Test-Path $dir)) { Save-Checkpoint -LiteralPath $dir -InputObject @{ a = 1 } -Step 1 | Out-Null }
        $secret = 'SEC' + 'RET=='
        $withModule = $null
        $without = $null
        try { Get-Checkpoint -LiteralPath $dir | ForEach-Object { Write-Error "AccountKey=$secret" -ErrorAction Stop } } catch { $withModule = $_ }
        try { 1 | ForEach-Object { Write-Error "AccountKey=$secret" -ErrorAction Stop } } catch { $without = $_ }
        $withModule | Should -Not -BeNullOrEmpty
        $without | Should -Not -BeNullOrEmpty
        $withModule.FullyQualifiedErrorId | Should -BeExactly $without.FullyQualifiedErrorId
        $withModule.Exception.GetType() | Should -Be $without.Exception.GetType()
        $withModule.Exception.Message | Should -BeExactly $without.Exception.Message
    }

    # Session 19: the new forms of free text, end to end: the record a catch gets, $Error, the -ErrorVariable, the message
    # and the inner exception.
    It 'Session 19: an escaping exception quoting <what> in its message and inner exception shows no SECRET in the catch, $Error or -ErrorVariable' -ForEach @(
        @{ what = 'a signature in a URL path segment'; secret = 'https://acct.blob.core.windows.net/c/run/sig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4+/Qw9A=/7' }
        @{ what = 'an AccountKey element after a comment holding <'; secret = '<AccountKey><!-- a<b -->SECRET==</AccountKey>' }
        @{ what = 'sig%25%33%44'; secret = 'signed with &sig%25%33%44SECRET' }
        @{ what = 'a percent-encoded key named nowhere'; secret = 'keys: SECRETJnu%2Fz4G0%2Bwhw9T5bamKJQMKUaw2oy%2Fd%2F1s%2B%2BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA%3D%3D' }
        @{ what = 'two keys glued'; secret = 'SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==SECRETAnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUB==' }
        # Attack on session 19: comments of two forms overlapping made the scrubber throw (a negative count in XmlShown); the
        # guard's exception filter then failed and the original exception escaped with the secret.
        @{ what = 'an XML comment opening another form of comment'; secret = '<!-- a &lt;!-- b --> c --&gt; AccountKey=SECRET==' }
    ) {
        $state = [DataraxCkptTests.ThrowingState]::new([InvalidOperationException]::new("failed: $secret", [IO.IOException]::new("inner: $secret")))
        $Error.Clear()
        $errors = $null
        $caught = $null
        try { Save-Checkpoint -LiteralPath (Join-Path $TestDrive 's19') -InputObject $state -Step 1 -ErrorVariable errors } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.Exception | Should -BeOfType [InvalidOperationException]
        $caught.Exception.InnerException | Should -BeOfType [IO.IOException]
        @($errors).Count | Should -BeGreaterThan 0
        $texts = @(Get-ShownErrorTexts $caught) + @(Get-ShownErrorTexts $Error[0]) + @(foreach ($e in $errors) { if ($e -is [Management.Automation.ErrorRecord]) { Get-ShownErrorTexts $e } else { $e.ToString() } })
        ($texts -join "`n") | Should -BeLike '*<redacted>*'
        foreach ($text in $texts) { $text | Should -Not -BeLikeExactly '*SECRET*' }
    }

    It 'one that holds no secret escapes as it is: same object, same type' {
        $failure = [NullReferenceException]::new('plain failure')
        $state = [DataraxCkptTests.ThrowingState]::new($failure)
        $caught = $null
        try { Save-Checkpoint -LiteralPath (Join-Path $TestDrive 'plain') -InputObject $state -Step 1 } catch { $caught = $_ }
        [object]::ReferenceEquals($caught.Exception, $failure) | Should -BeTrue
        { Save-Checkpoint -LiteralPath (Join-Path $TestDrive 'plain') -InputObject $state -Step 1 } | Should -Throw -ExceptionType ([NullReferenceException])
    }
}

Describe 'Secrets in a local path a command is given' -Skip:$IsWindows {
    # A mistyped SAS URL or connection string taken for a local folder: every stream of every command must hide it.
    It '<name>: no error, warning, -Verbose or progress text shows SECRETSIG; the commands still work on the folder' -ForEach @(
        @{ name = 'ck%3Fsv=2020-08-04%26sig%3DSECRETSIG' }
        @{ name = 'ck%3fsv=2020-08-04&sig=SECRETSIG' }
        @{ name = 'ck;AccountKey=SECRETSIG' }
        @{ name = 'ck;accountkey=SECRETSIG;x' }
        @{ name = 'ck;SharedAccessSignature=sv=2020-08-04&sig=SECRETSIG' }
        @{ name = 'ck;SHAREDACCESSSIGNATURE=SECRETSIG;' }
        @{ name = 'ck?sv=2020-08-04 &sig=SECRETSIG' }
        # Session 19: a name encoded with its digits encoded, and an escaped key named nowhere (-Verbose lines too).
        @{ name = 'ck&sig%25%33%44SECRETSIG' }
        @{ name = 'ck SECRETSIGAz4G0%2Bwhw9T5bamKJQMKUaw2oy%2Fd%2F1s%2B%2BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA%3D%3D' }
    ) {
        $dir = Join-Path $TestDrive "local/$name"
        $ps = [powershell]::Create()
        try {
            $null = $ps.AddScript("Import-Module '$ModuleManifest'; `$ProgressPreference = 'Continue'").AddStatement()
            $null = $ps.AddScript({
                    param($d)
                    @{ a = 1 } | Save-Checkpoint -LiteralPath $d -Step 1 -Verbose
                    @{ a = 2 } | Save-Checkpoint -LiteralPath $d -Step 2 -Verbose
                    @{ a = 3 } | Save-Checkpoint -LiteralPath $d -Step 3 -Verbose
                    @{ a = 4 } | Save-Checkpoint -LiteralPath $d -Step 2 -Verbose
                    $null = Restore-Checkpoint -LiteralPath $d -Step 9 -Verbose
                    $null = Get-Checkpoint -LiteralPath $d -Verbose
                    $null = Test-Checkpoint -LiteralPath $d -Verbose
                    Remove-Checkpoint -LiteralPath $d -Keep 1 -Verbose -Confirm:$false
                    Get-CheckpointStep -LiteralPath $d
                }).AddArgument($dir)
            $output = @($ps.Invoke())
            $output | Should -Be @(3) -Because 'the folder named so is still saved to, read and pruned'
            $ps.Streams.Error.Count | Should -Be 2 -Because 'StepExists and StepNotFound'
            $ps.Streams.Verbose.Count | Should -BeGreaterThan 3
            $ps.Streams.Warning.Count | Should -BeGreaterThan 0 -Because 'removing two of three steps warns'
            $texts = @(
                foreach ($record in $ps.Streams.Error) { Get-ShownErrorTexts $record }
                $ps.Streams.Verbose.Message
                $ps.Streams.Warning.Message
                foreach ($p in $ps.Streams.Progress) { $p.Activity; $p.StatusDescription; $p.CurrentOperation }
            )
            foreach ($text in $texts) {
                $text | Should -Not -BeLike '*SECRETSIG*'
            }
        }
        finally {
            $ps.Dispose()
        }
    }
}

Describe 'The redaction of free text' {
    BeforeAll {
        $assembly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { $_.GetName().Name -eq 'DataraxCkpt.Cmdlets' } | Select-Object -First 1
        $script:remote = $assembly.GetType('DataraxCkpt.Commands.Infrastructure.RemoteLocations', $true)
        function Scrub([string] $text) { $script:remote.GetMethod('Scrubbed').Invoke($null, @($text)) }
        # The process's CPU time of one scrub, not the wall clock: on two cores shared by eight builds the same linear scrub
        # took 0.2 s alone and up to 7 s of wall time; a quadratic one takes minutes of CPU either way.
        function ScrubSeconds([string] $text, [int] $times = 1) {
            # Earlier garbage collected first, outside the timing: the process's CPU time counts the collector's threads,
            # which a 1 MB string's garbage wakes (session 26's CI: 0.25 s against 0.006 s for a linear scrub).
            [GC]::Collect()
            [GC]::WaitForPendingFinalizers()
            $process = [Diagnostics.Process]::GetCurrentProcess()
            $before = $process.TotalProcessorTime
            for ($i = 0; $i -lt $times; $i++) { $null = Scrub $text }
            $process.Refresh()
            ($process.TotalProcessorTime - $before).TotalSeconds
        }
    }

    It 'hides <what>' -ForEach @(
        @{ what = 'a percent-encoded query'; text = "Cannot read 'https://acct.blob.core.windows.net/c/p%3Fsv=2020-08-04%26sig%3DSECRET' now" }
        @{ what = 'a query after a percent-encoded ?'; text = 'https://acct.blob.core.windows.net/c/p%3Fsv=2020-08-04&se=2030&sig=SECRET' }
        @{ what = 'a query split by a space'; text = "'https://acct.blob.core.windows.net/c/p?sv=2020-08-04 &sig=SECRET'" }
        @{ what = 'a signature split by a space'; text = 'https://acct.blob.core.windows.net/c/p?sig=SEC RET&se=2030' }
        @{ what = 'sig= with no ? before it'; text = 'the request signed with sig=SECRET was refused' }
        @{ what = 'sig= percent-encoded with no ? before it'; text = 'signed with &%73ig%3DSECRET' }
        @{ what = 'an AccountKey with a ;'; text = 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET==;EndpointSuffix=core.windows.net' }
        @{ what = 'an AccountKey without a ;'; text = 'AccountName=a;ACCOUNTKEY=SECRET==' }
        @{ what = 'an AccountKey in a quoted string'; text = 'bad connection string "AccountName=a;AccountKey=SECRET==" given' }
        @{ what = 'a quoted AccountKey value'; text = "AccountKey = 'SECRET=='" }
        @{ what = 'an AccountKey that ends a longer name'; text = 'StorageAccountKey=SECRET==' }
        @{ what = 'a SharedAccessSignature with a ;'; text = 'BlobEndpoint=https://a.blob.core.windows.net;SharedAccessSignature=sv=2020-08-04&sig=SECRET;' }
        @{ what = 'a SharedAccessSignature without a ;'; text = 'sharedaccesssignature=sv=2020-08-04&SECRET' }

        # Found by the attack on redact16: each of these showed SECRET.
        @{ what = 'a query percent-encoded twice'; text = "Cannot read 'https://acct.blob.core.windows.net/c/p%253Fsv%253D2020-08-04%2526sig%253DSECRET' now" }
        @{ what = 'sig= percent-encoded twice with no ? before it'; text = 'signed with %2526%2573ig%253DSECRET' }
        @{ what = 'a query percent-encoded three times'; text = 'https://acct.blob.core.windows.net/c/p%25253Fsv%25253D1%252526sig%25253DSECRET' }
        @{ what = 'a JSON-escaped token with no ?'; text = '{"token":"sv=2021-08-06\u0026se=2030\u0026sig=SECRET","x":1}' }
        @{ what = 'a JSON-escaped sig= with an escaped ='; text = '{"token":"sv=2021-08-06\u0026sig\u003dSECRET"}' }
        @{ what = 'a JSON AccountKey'; text = '{"AccountName": "a", "AccountKey": "SECRET==", "x": 1}' }
        @{ what = 'a JSON SharedAccessSignature'; text = '{ "SharedAccessSignature" : "sv=2020-08-04&se=2030&SECRET" }' }
        @{ what = 'an escaped JSON AccountKey inside a JSON string'; text = '{"settings":"{\"AccountKey\": \"SECRET==\"}"}' }
        @{ what = 'an AccountKey: with no quotes'; text = 'AccountKey: SECRET==' }
        @{ what = 'sig= after |'; text = 'sv=2020-08-04|sig=SECRET|se=2030' }
        @{ what = 'sig= after +'; text = 'sv=2020-08-04+sig=SECRET' }
        @{ what = 'sig= after ~'; text = 'token~sig=SECRET' }
        # A folder named sig=… after '\' is kept (redact18, below); a value shaped as a signature is not.
        @{ what = 'sig= after \, a signature'; text = 'C:\temp\sig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%3D' }

        # Attack on redact17: each of these still showed SECRET.
        @{ what = 'a percent-encoded connection string (AccountKey%3D)'; text = 'https://x/?conn=DefaultEndpointsProtocol%3Dhttps%3BAccountName%3Da%3BAccountKey%3DSECRET%2B%2F%3D%3D%3BEndpointSuffix%3Dcore.windows.net' }
        @{ what = 'a JSON AccountKey inside a string System.Text.Json escaped (\u0022)'; text = '{"settings":"{\u0022AccountKey\u0022:\u0022SECRET==\u0022}"}' }
        @{ what = 'a JSON AccountKey escaped twice (JSON in JSON in JSON)'; text = '{"x":"{\"y\":\"{\\\"AccountKey\\\": \\\"SECRET==\\\"}\"}"}' }

        # redact18: each of these still showed SECRET.
        @{ what = 'sig= after %20'; text = 'token%20sig=SECRET' }
        @{ what = 'sig= after %2C'; text = 'sv=1%2Csig=SECRET' }
        @{ what = 'sig= after %5C, a signature'; text = 'C:%5Ctemp%5Csig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%3D' }
        @{ what = 'sig= after .'; text = 'token.sig=SECRET' }
        @{ what = 'sig= after *'; text = '*sig=SECRET' }
        @{ what = 'sig= after )'; text = '(sv=1)sig=SECRET' }
        @{ what = 'sig= after ]'; text = '[sv]sig=SECRET' }
        @{ what = 'sig= after }'; text = '{sv}sig=SECRET' }
        @{ what = 'sig= after $'; text = 'token$sig=SECRET' }
        @{ what = 'sig= after @'; text = 'user@sig=SECRET' }
        @{ what = 'an XML AccountKey element'; text = '<StorageCredentials><AccountName>a</AccountName><AccountKey>SECRET==</AccountKey></StorageCredentials>' }
        @{ what = 'an XML-escaped AccountKey element'; text = 'settings: &lt;AccountKey&gt;SECRET==&lt;/AccountKey&gt;' }
        @{ what = 'an indented XML AccountKey element'; text = "<Credentials>`n  <AccountKey>`n    SECRET==`n  </AccountKey>`n</Credentials>" }
        @{ what = 'a JSON-escaped XML AccountKey element'; text = '{"xml":"\u003CAccountKey\u003ESECRET==\u003C/AccountKey\u003E"}' }
        @{ what = 'an XML SharedAccessSignature element'; text = '<SharedAccessSignature>sv=2020-08-04&amp;se=2030&amp;SECRET</SharedAccessSignature>' }
        @{ what = 'an unquoted AccountKey: with a whole key'; text = 'AccountKey: SECRETEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==' }
        @{ what = 'an unquoted AccountKey: with a key cut short'; text = 'AccountKey: SECRETEby8vdM02xNOcqFlq' }
        # Attack on redact18: a JSON-escaped '\n', '\t' or '\r' is read as '\' is: sig= is a parameter when its value
        # reads as a signature does (the same text is a Windows folder 'C:\runs\nsig=3'); the attack's short values are a
        # known gap (pinned by the kept cases, below). The rest were found while fixing the attack: other orders and forms of its settings.
        @{ what = 'sig= after a JSON-escaped newline, a signature'; text = '{"log":"request failed\nsig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%3D"}' }
        @{ what = 'sig= after a JSON-escaped tab, a signature'; text = '{"log":"request failed\tsig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%3D"}' }
        @{ what = 'sig= after a JSON-escaped carriage return, a signature'; text = '{"log":"request failed\rsig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4="}' }
        @{ what = 'a Key element whose name attribute is AccountKey'; text = '<Key name="AccountKey">SECRET==</Key>' }
        @{ what = 'an app.config setting, value before key'; text = '<add value="SECRET==" key="StorageAccountKey"/>' }
        @{ what = 'an XML-escaped app.config setting'; text = 'config: &lt;add key=&quot;StorageAccountKey&quot; value=&quot;SECRET==&quot; /&gt;' }
        @{ what = 'a JSON-escaped app.config setting'; text = '{"xml":"<add key=\"AccountKey\" value=\"SECRET==\" />"}' }
        @{ what = 'an indented XML AccountKey element after a comment line'; text = "<AccountKey>`n  <!-- primary -->`n  SECRET==`n</AccountKey>" }
        @{ what = 'an XML AccountKey element with an attribute, XML-escaped'; text = '&lt;AccountKey type=&quot;string&quot;&gt;SECRET==&lt;/AccountKey&gt;' }
        @{ what = 'sig= after \t and a space, a signature'; text = 'log\tsig= SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%3D' }
    ) {
        $shown = Scrub $text
        $shown | Should -Not -BeLikeExactly '*SECRET*'
        $shown | Should -BeLike '*<redacted>*'
    }

    It 'keeps <what> as it is' -ForEach @(
        @{ what = 'a folder named sig=3'; text = "Cannot find '/runs/sig=3/7'" }
        @{ what = 'a query with no signature'; text = "Cannot find '/runs/what?x=1'" }
        @{ what = 'a message naming a key'; text = 'The key was not found: a' }
        @{ what = 'a local path with sig in its folder names'; text = "Cannot find '/data/sig/signatures/sig-3/run~1/7'" }
        @{ what = 'a Windows path with sig in its folder names'; text = "Cannot find 'C:\runs\signals\sig\7'" }
        @{ what = 'a URL with no query'; text = "Cannot read 'https://acct.blob.core.windows.net/c/sig/run+1/ck'" }
        @{ what = 'a percent-encoded path with no query'; text = "Cannot read 'https://acct.blob.core.windows.net/c/my%2520sig%2520run/ck'" }
        # redact18: each of these was redacted where no secret is.
        @{ what = 'AccountKey: in prose'; text = 'AccountKey: not set in the environment' }
        @{ what = 'AccountKey: in prose, a word after it'; text = 'Missing setting AccountKey: check the configuration file' }
        @{ what = 'a Windows folder named sig=3'; text = "Cannot find 'C:\runs\sig=3\7'" }
        @{ what = 'a Windows folder named sig=run-7'; text = "Cannot find 'C:\runs\sig=run-7\checkpoints'" }
        @{ what = 'a Windows folder named sig=3, percent-encoded'; text = "Cannot find 'C:%5Cruns%5Csig=3%5C7'" }
        # Kept while fixing the attack on redact18: a folder whose name starts with n, t or r after '\', a folder named
        # 'sig= 3', and XML that names no secret.
        @{ what = 'a Windows folder named tsig=3'; text = "Cannot find 'C:\runs\tsig=3\7'" }
        @{ what = 'a Windows folder named nsig=3'; text = "Cannot find 'C:\runs\nsig=3'" }
        @{ what = 'a Windows folder named rsig=run-7'; text = "Cannot find 'C:\runs\rsig=run-7\checkpoints'" }
        @{ what = 'a Windows folder named sig= 3'; text = "Cannot find 'C:\temp\sig= 3\7'" }
        @{ what = 'an app.config setting that is no secret'; text = '<add key="StorageAccountName" value="acct" />' }
        @{ what = 'a Key element naming no secret'; text = '<Key name="AccountName">acct</Key>' }
        @{ what = 'an empty AccountKey element closing itself'; text = '<AccountKey/> was empty; <AccountKey /> too' }
        @{ what = 'a comment and CDATA in other elements'; text = '<a><!-- key note -->text</a><b><![CDATA[key]]></b>' }
    ) {
        Scrub $text | Should -BeExactly $text
    }

    # Attack on redact18: each of these still shows the secret. The first five are real keys the 'AccountKey: prose' cut
    # now keeps (main redacted them: its value ran to the line end); the rest are forms the new patterns do not reach.
    It 'Attack on redact18: hides <what>' -ForEach @(
        @{ what = 'AccountKey: {key} (Format-List of a collection)'; text = 'AccountKey : {SECRETEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==}' }
        @{ what = 'AccountKey: <key>'; text = 'AccountKey: <SECRETEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==>' }
        @{ what = 'AccountKey: [key]'; text = 'AccountKey: [SECRETEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==]' }
        @{ what = 'AccountKey: (key)'; text = 'AccountKey: (SECRETEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==)' }
        @{ what = 'AccountKey: in typographic quotes'; text = "AccountKey: `u{201C}SECRETEby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq==`u{201D}" }
        @{ what = 'sig= after \ and a space'; text = 'C:\temp\sig= SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%3D' }
        @{ what = 'an XML AccountKey element with an attribute'; text = '<AccountKey type="string">SECRET==</AccountKey>' }
        @{ what = 'an XML AccountKey element holding CDATA'; text = '<AccountKey><![CDATA[SECRET==]]></AccountKey>' }
        @{ what = 'an XML AccountKey element after a comment'; text = '<AccountKey><!-- primary -->SECRET==</AccountKey>' }
        @{ what = 'an app.config setting'; text = '<add key="StorageAccountKey" value="SECRET==" />' }
        # 'sig= after a JSON-escaped newline' and '… tab' with a short value: the known gap, below.
        @{ what = 'sig= after an encoded newline'; text = 'log=failed%0Asig%3DSECRET' }
        @{ what = 'sig= after an encoded ;'; text = 'sv%3D2020%3Bsig%3DSECRET' }
        @{ what = 'sig= after an encoded quote'; text = 'q=%22sig%3DSECRET%22' }
    ) {
        $shown = Scrub $text
        $shown | Should -Not -BeLikeExactly '*SECRET*'
    }

    # Session 19: the gaps session 18 left. A SAS signature is the base64 of an HMAC-SHA256, 43 characters and '=' (also
    # percent-encoded); an account key 86 and '=='.
    It 'Session 19: hides <what>' -ForEach @(
        # 1. sig= after '/': a SAS carries sig only in its query, but a URL rewritten to a path ('…/ck/sig=…') or a query
        # value holding '/' ('?a=1/sig=…' logged without its '?') still carries a working signature.
        @{ what = 'a signature in a URL path segment'; text = 'https://acct.blob.core.windows.net/c/run/sig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4+/Qw9A=/7' }
        @{ what = 'a percent-encoded signature in a URL path segment'; text = 'https://acct.blob.core.windows.net/c/run/sig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%2B%2FQw9A%3D/7' }
        @{ what = 'a signature after a query value''s /, no ? logged'; text = 'a=1/sig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4+/Qw9A=' }
        @{ what = 'a signature after a percent-encoded /'; text = 'run%2Fsig%3DSECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4%2B%2FQw9A%3D' }
        # 2. an XML element's text after a comment holding '<' or running over lines.
        @{ what = 'an XML AccountKey element after a comment holding <'; text = '<AccountKey><!-- a<b -->SECRET==</AccountKey>' }
        @{ what = 'an XML-escaped AccountKey element after a comment holding &lt;'; text = '&lt;AccountKey&gt;&lt;!-- a&lt;b --&gt;SECRET==&lt;/AccountKey&gt;' }
        @{ what = 'a JSON-escaped AccountKey element after a comment holding \u003C'; text = '\u003CAccountKey\u003E\u003C!-- a\u003Cb --\u003ESECRET==\u003C/AccountKey\u003E' }
        @{ what = 'an XML AccountKey element after a comment over two lines'; text = "<AccountKey><!-- primary,`n rotated <2026> -->SECRET==</AccountKey>" }
        @{ what = 'an AccountKey element commented out'; text = '<!-- <AccountKey>SECRET==</AccountKey> --><AccountKey>x</AccountKey>' }
        # 3. the letters of a name percent-encoded with their own hex digits encoded ('%25%33%44' is '%3D', then '=').
        @{ what = 'sig%25%33%44 (its = encoded twice, the digits too)'; text = 'signed with &sig%25%33%44SECRET' }
        @{ what = '%25%37%33ig= (its s encoded twice, the digits too)'; text = '%25%37%33ig=SECRET' }
        @{ what = 'every letter of sig= so encoded'; text = 'x&%25%37%33%25%36%39%25%36%37%25%33%44SECRET' }
        @{ what = '%%37%33ig= (a % then the encoded digits)'; text = 'x&%%37%33ig=SECRET' }
        @{ what = 'AccountKey%25%33%44'; text = 'conn=AccountName%3Da%3BAccountKey%25%33%44SECRET%3D%3D' }
        @{ what = 'Account%25%34%42ey= (its K so encoded)'; text = 'Account%25%34%42ey=SECRET==' }
        @{ what = 'SharedAccessSignature with an encoded S'; text = 'x;%25%35%33haredAccessSignature=sv=1&SECRET' }
        # 5. an account key whose own characters are escaped, named nowhere.
        @{ what = 'a key percent-encoded (%2B, %2F, %3D%3D)'; text = 'keys: SECRETJnu%2Fz4G0%2Bwhw9T5bamKJQMKUaw2oy%2Fd%2F1s%2B%2BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA%3D%3D now' }
        @{ what = 'a key percent-encoded twice'; text = 'keys=SECRETJnu%252Fz4G0%252Bwhw9T5bamKJQMKUaw2oy%252Fd%252F1s%252B%252BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA%253D%253D' }
        @{ what = 'a key JSON-escaped by System.Text.Json (\u002B, \u003D)'; text = '{"value":"SECRETJnu/z4G0\u002Bwhw9T5bamKJQMKUaw2oy/d/1s\u002B\u002BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA\u003D\u003D"}' }
        @{ what = 'a key JSON-escaped with \/'; text = '{"value":"SECRETJnu\/z4G0+whw9T5bamKJQMKUaw2oy\/d\/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA=="}' }
        # 6. keys glued together.
        @{ what = 'two keys glued (K1==K2==)'; text = 'SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==SECRETAnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUB==' }
        @{ what = 'two keys glued, then text'; text = 'keys SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==SECRETAnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUB==rotated' }
        # Attack on session 19: comments of two forms that overlap or nest threw from the scrubber.
        @{ what = 'a key after comments of two forms overlapping'; text = '<!-- a &lt;!-- b --> c --&gt; AccountKey=SECRET==' }
        @{ what = 'an element inside comments of two forms nested'; text = '<!-- a &lt;!-- x --&gt; <AccountKey>SECRET</AccountKey> -->' }
        @{ what = 'an element after a comment whose closing an XML-escaped comment holds'; text = '&lt;!-- a <!-- b --&gt; <AccountKey><!-- c<d -->SECRET</AccountKey>' }
        @{ what = 'an element after a JSON-escaped comment holding an XML one'; text = '\u003C!-- <!-- x --> --\u003E<AccountKey><!-- a<b -->SECRET</AccountKey>' }
        @{ what = 'two percent-encoded keys glued'; text = 'SECRETJnu%2Fz4G0%2Bwhw9T5bamKJQMKUaw2oy%2Fd%2F1s%2B%2BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA%3D%3DSECRETAnu%2Fz4G0%2Bwhw9T5bamKJQMKUaw2oy%2Fd%2F1s%2B%2BozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUB%3D%3D' }
    ) {
        $shown = Scrub $text
        $shown | Should -Not -BeLikeExactly '*SECRET*'
        $shown | Should -BeLike '*<redacted>*'
    }

    It 'Session 19: keeps <what> as it is' -ForEach @(
        @{ what = 'a folder named sig= and a long name after /'; text = "Cannot find '/runs/sig=abcdefghijklmnopqrstuvwxyz0123456789/7'" }
        @{ what = 'a folder named sig= and 50 letters after /'; text = "Cannot find '/runs/sig=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/7'" }
        @{ what = 'a percent-encoded folder named sig=3'; text = "Cannot find '%2Fruns%2Fsig%3D3%2F7'" }
        @{ what = 'a comment holding < in another element'; text = '<a><!-- x<y -->text</a>' }
        @{ what = 'a comment over two lines in another element'; text = "<a><!-- x`n<y> -->text</a>" }
        @{ what = 'a percent-encoded path with + / = in it'; text = "Cannot read 'https://acct.blob.core.windows.net/c/a%2Bb%2Fc%3D%3D/ck'" }
        @{ what = 'an encoded name that is no secret''s'; text = 'AccountName%25%33%44acct' }
        @{ what = 'comments of two forms overlapping'; text = '<a><!-- x &lt;!-- y --> z --&gt;</a> key' }
        @{ what = 'a JSON-escaped comment holding an XML one'; text = '\u003C!-- <!-- key --> --\u003E' }
        @{ what = 'a JSON-escaped SHA-256 digest'; text = '{"digest":"xSIL59h7fp9uMt\/pGWGbdW4qJKJHWkbR\/JEYo7DdSnE\u003D"}' }
    ) {
        Scrub $text | Should -BeExactly $text
    }

    It 'Session 19: redacts only the value of <what>' -ForEach @(
        @{ what = 'a signature in a path segment, not the folders after it'; text = '/c/run/sig=SECRETa8Zx2FqL0bN3vT7wKpR5yHcD1mE9uJ4+/Qw9A=/7'; shown = '/c/run/sig=<redacted>/7' }
        @{ what = 'an element after a comment, keeping its closing tag'; text = '<AccountKey><!-- a<b -->SECRET==</AccountKey> was rejected'; shown = '<AccountKey><redacted></AccountKey> was rejected' }
        @{ what = 'an encoded AccountKey, not the names around it'; text = 'AccountName%3Da%3BAccountKey%25%33%44SECRET%3D%3D%3BEndpointSuffix%3Dx'; shown = 'AccountName%3Da%3BAccountKey%25%33%44<redacted>%3BEndpointSuffix%3Dx' }
    ) {
        Scrub $text | Should -BeExactly $shown
    }

    # A bound on the CPU time of 1 MB failed on a loaded machine with the scrub linear (0.87 s against 0.8 for repeated
    # %25%33%44 at a load average of 25: attack on session 19): CPU time also grows with the load (shared caches, the
    # collector's threads). The ratio of 1 MB to a tenth of the same text is what linear time bounds, whatever the load:
    # about 10 when linear, about 100 when quadratic; the bound, 30, lies well between them (a scrub made quadratic on
    # purpose gave ratios of 60 and more: checked). Each time is the least of a few measures, the tenth's over ten scrubs,
    # so that a burst of load weighs little.
    It 'Session 19: scrubs 1 MB of <what> in time linear in its length (1 MB against 100 KB of the same text)' -ForEach @(
        @{ what = 'repeated <AccountKey><!-- a<b -->'; make = { '<AccountKey><!-- a<b -->' * 42000 } }
        @{ what = '<AccountKey><!-- and one run of ''<'''; make = { '<AccountKey><!--' + ('<' * 1000000) } }
        @{ what = 'repeated <!-- with no end'; make = { '<!--' * 250000 } }
        @{ what = 'repeated &lt;!-- and \u003C!-- with no end'; make = { '&lt;!--\u003C!--' * 66000 } }
        @{ what = 'repeated %25%33%44'; make = { '%25%33%44' * 112000 } }
        @{ what = 'repeated &%25%37%33ig%25%33%44'; make = { '&%25%37%33ig%25%33%44' * 48000 } }
        @{ what = 'repeated %2B'; make = { '%2B' * 340000 } }
        @{ what = 'repeated \u002B'; make = { '\u002B' * 170000 } }
        @{ what = 'glued 86-character runs and =='; make = { (('A' * 86) + '==') * 11500 } }
        @{ what = 'one base64 run and == every 87 characters'; make = { (('A' * 85) + '==') * 11600 } }
        @{ what = 'repeated /sig='; make = { '/sig=' * 200000 } }
        @{ what = '/sig= and one run of signature characters'; make = { '/sig=' + ('a' * 1000000) } }
        @{ what = 'repeated /sig= and 43 characters'; make = { ('/sig=' + ('a' * 43)) * 21000 } }
    ) {
        $text = & $make
        $text.Length | Should -BeGreaterThan 900000
        $tenth = $text.Substring(0, [int] ($text.Length / 10))
        # Warmed up on both: the first megabyte scrubbed in a process also pays for the JIT and the heap's growth (0.65 s
        # of CPU, then 0.3 s, for the same text under a load average of 28).
        $null = Scrub $tenth
        $null = Scrub $text
        $tenthSeconds = [Math]::Max(0.001, (@(1..3 | ForEach-Object { (ScrubSeconds $tenth 10) / 10 }) | Measure-Object -Minimum).Minimum)
        $wholeSeconds = (@(1..4 | ForEach-Object { ScrubSeconds $text }) | Measure-Object -Minimum).Minimum
        # Under 0.1 s of CPU no scrub of 1 MB is quadratic (5e11 pairs of characters), and a burst of load weighs most there.
        ($wholeSeconds -lt 0.1 -or $wholeSeconds / $tenthSeconds -lt 30) | Should -BeTrue -Because "the ratio should be under 30: 1 MB took $wholeSeconds s of CPU and 100 KB $tenthSeconds s"
    }

    # Attack on session 20's review: HoldsSignature reads a typed location's query through DecodedText (JSON escapes too,
    # mixed with percent escapes, to a fixed point), so the whole query of a mistyped location is redacted.
    It 'Session 20: shows a mistyped location whose query holds <what> with its whole query redacted' -ForEach @(
        @{ what = 'a JSON-escaped s'; location = './runs/ck?sv=2020&\u0073ig=SECRET' }
        @{ what = 'a JSON-escaped = (capital U)'; location = './runs/ck?sv=2020&sig\U003DSECRET' }
        @{ what = 'a percent-encoded backslash before a JSON escape'; location = './runs/ck?sv=2020&%5Cu0073ig=SECRET' }
        @{ what = 'a JSON-escaped %, then hex digits'; location = './runs/ck?sv=2020&\u0025\u0037\u0033ig=SECRET' }
        @{ what = 'a JSON escape spelled with percent escapes'; location = './runs/ck?sv=2020&%5C%75%30%30%37%33ig=SECRET' }
        @{ what = 'a JSON escape of a JSON escape'; location = './runs/ck?sv=2020&\u005C\u0075\u0030\u0030\u0037\u0033ig=SECRET' }
    ) {
        $script:remote.GetMethod('Shown').Invoke($null, @($location)) | Should -BeExactly './runs/ck?<redacted>'
    }

    It 'Session 20: shows a 1 MB mistyped location of nested mixed escapes (<unit>) redacted, in time linear in its length' -ForEach @(
        # Each reads '&sig=' at its fixed point: '\u00' spelled with percent escapes, '\u0025' after a percent-encoded '\',
        # and a '\' that each next 'u005C' escapes again.
        @{ unit = '%5C%75%30%30'; make = { param($n) './x?&' + ('%5C%75%30%30' * $n) + '73ig=SECRET' } }
        @{ unit = '%5Cu0025'; make = { param($n) './x?&%5Cu0025' + ('25' * (3 * $n)) + '73ig=SECRET' } }
        @{ unit = '\u005C'; make = { param($n) './x?&\u005C' + ('u005C' * $n) + 'u0073ig=SECRET' } }
    ) {
        $shown = $script:remote.GetMethod('Shown')
        function ShownSeconds([string] $text, [int] $times) {
            [GC]::Collect()
            [GC]::WaitForPendingFinalizers()
            $process = [Diagnostics.Process]::GetCurrentProcess()
            $before = $process.TotalProcessorTime
            for ($i = 0; $i -lt $times; $i++) { $null = $shown.Invoke($null, @($text)) }
            $process.Refresh()
            ($process.TotalProcessorTime - $before).TotalSeconds / $times
        }
        $whole = & $make 200000
        $tenth = & $make 20000
        $whole.Length | Should -BeGreaterThan 900000
        $null = ShownSeconds $tenth 1
        $null = ShownSeconds $whole 1
        $tenthSeconds = [Math]::Max(0.001, (@(1..3 | ForEach-Object { ShownSeconds $tenth 10 }) | Measure-Object -Minimum).Minimum)
        # The least of four: the process's CPU time also counts the collector's threads, which a 1 MB string's garbage
        # wakes (session 26's CI: one such run measured 0.103 s against 0.002 s, where the algorithm is linear).
        $wholeSeconds = (@(1..4 | ForEach-Object { ShownSeconds $whole 1 }) | Measure-Object -Minimum).Minimum
        ($wholeSeconds -lt 0.1 -or $wholeSeconds / $tenthSeconds -lt 30) | Should -BeTrue -Because "1 MB took $wholeSeconds s of CPU and 100 KB $tenthSeconds s"
        $shown.Invoke($null, @($whole)) | Should -BeExactly './x?<redacted>'
    }

    # Final review of session 18: an account key that no name announces (az's JSON, a .NET settings file, prose).
    It 'hides an account key named nowhere: <what>' -ForEach @(
        @{ what = 'az storage account keys list JSON'; text = '[{"creationTime":"2026-01-01","keyName":"key1","permissions":"FULL","value":"SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA=="}]' }
        @{ what = 'a .NET settings file'; text = '<setting name="AccountKey" serializeAs="String"><value>SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==</value></setting>' }
        @{ what = 'a Key element whose value is a child'; text = '<Key name="AccountKey"><Value>SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==</Value></Key>' }
        @{ what = 'prose'; text = 'the primary is SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==, rotate it' }
        # Attack on the review fixes: right after an escape whose last character is a base64 one.
        @{ what = 'an az -o tsv line inside a JSON log'; text = '{"log":"key1\tFULL\tSECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==\n"}' }
        @{ what = 'a JSON-escaped settings file'; text = '\u003Cvalue\u003ESECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==\u003C/value\u003E' }
        @{ what = 'after a percent-encoded line break'; text = 'keys:%0ASECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQUA==' }
    ) {
        $shown = Scrub $text
        $shown | Should -Not -BeLikeExactly '*SECRET*'
        $shown | Should -BeLike '*<redacted>*'
    }

    It 'keeps base64 that is not the size of an account key: <what>' -ForEach @(
        @{ what = 'a SHA-256 digest'; text = 'manifest digest xSIL59h7fp9uMt/pGWGbdW4qJKJHWkbR/JEYo7DdSnE= differs' }
        @{ what = '85 characters and =='; text = 'token SECRETJnu/z4G0+whw9T5bamKJQMKUaw2oy/d/1s++ozebiOnsmSvWtO90QgiDfhgvpQGcxCzNq4dBv9wtIQU== kept' }
        @{ what = '88 characters inside a longer base64 run'; text = 'blob ATeWrX71X7ycCNYzWBdkcjm8r5IFu24FU1aCOqB7KMylEo/zj3p/HaoFKFllLGRb/9v2id8AO3X45EIYmFXkEWQ==' }
    ) {
        Scrub $text | Should -BeExactly $text
    }

    # Known gap (docs/guarantees.md): a value that does not read as a signature after a JSON-escaped '\n' or '\t' is the
    # same text as a Windows folder ('C:\runs\nsig=3\7', 'C:\runs\tsig=3'), which is kept; a module given one string
    # cannot tell them apart. A SAS signature is 44 base64 characters and is redacted (above); the short value is kept,
    # pinned by the kept cases 'a Windows folder named nsig=3' and 'tsig=3' above (no skipped test: a skip fails CI).
    It 'redacts only the value of <what>' -ForEach @(
        @{ what = 'an XML element, not the text after its closing tag'; text = '<AccountKey>SECRET==</AccountKey> was rejected'; shown = '<AccountKey><redacted></AccountKey> was rejected' }
        @{ what = 'an XML-escaped element'; text = '&lt;AccountKey&gt;SECRET==&lt;/AccountKey&gt; was rejected'; shown = '&lt;AccountKey&gt;<redacted>&lt;/AccountKey&gt; was rejected' }
    ) {
        Scrub $text | Should -BeExactly $shown
    }

    It 'hides <what> percent-encoded <times> times over' -ForEach @(
        # redact18: the patterns knew three levels; a fourth (a URL logged, pasted into another URL and logged again) leaked.
        foreach ($times in 4, 5, 9) {
            @{ what = 'a connection string''s AccountKey'; times = $times; prefix = 'https://x/?conn='; secret = 'DefaultEndpointsProtocol=https;AccountName=a;AccountKey=SECRET+/==;EndpointSuffix=core.windows.net' }
            @{ what = 'a SAS query'; times = $times; prefix = 'https://acct.blob.core.windows.net/c/p'; secret = '?sv=2020-08-04&se=2030&sig=SECRET' }
            @{ what = 'a sig= parameter'; times = $times; prefix = 'signed with '; secret = '&sig=SECRET' }
        }
    ) {
        $encoded = $secret
        for ($i = 0; $i -lt $times; $i++) { $encoded = [uri]::EscapeDataString($encoded) }
        $encoded | Should -BeLikeExactly '*SECRET*'
        $shown = Scrub ($prefix + $encoded)
        $shown | Should -Not -BeLikeExactly '*SECRET*'
        $shown | Should -BeLike '*<redacted>*'
    }

    It 'scrubs 1 MB of <what> in under 2 seconds' -ForEach @(
        # redact18: decoding goes to a fixed point and the patterns take any run of '25', so each must stay linear.
        @{ what = '''%'' and one run of ''25'''; make = { '%' + ('25' * 500000) } }
        @{ what = 'one run of ''25'' ending in an encoded ?, then sig='; make = { '%' + ('25' * 499990) + '3Fsig=x' } }
        @{ what = 'sig= with an encoded s 500,000 levels deep'; make = { '&%' + ('25' * 499990) + '73ig=x' } }
        @{ what = 'AccountKey and an encoded = 500,000 levels deep'; make = { 'AccountKey%' + ('25' * 499990) + '3Dx' } }
        @{ what = 'repeated %2573ig%253D'; make = { '%2573ig%253D' * 80000 } }
        @{ what = 'repeated %25, then sig='; make = { ('%25' * 333000) + 'sig=x' } }
        @{ what = 'repeated \sig='; make = { '\sig=' * 200000 } }
        @{ what = '\sig= and one run of signature characters'; make = { '\sig=' + ('a' * 1000000) } }
        @{ what = 'repeated AccountKey:'; make = { 'AccountKey:' * 90000 } }
        @{ what = 'AccountKey: and one run of key characters'; make = { 'AccountKey: ' + ('a' * 1000000) } }
        @{ what = 'AccountKey: and one run of ''%'''; make = { 'AccountKey: ' + ('%' * 1000000) } }
        @{ what = 'repeated <AccountKey>'; make = { '<AccountKey>' * 85000 } }
        @{ what = '<AccountKey> and one run of white space'; make = { '<AccountKey>' + (' ' * 1000000) } }
        @{ what = 'repeated &lt;AccountKey&gt;'; make = { '&lt;AccountKey&gt;' * 55000 } }
        @{ what = 'repeated %255Csig='; make = { '%255Csig=' * 112000 } }
        @{ what = 'repeated \nsig= and a space'; make = { '\nsig= ' * 170000 } }
        @{ what = '\tsig= and one run of blanks'; make = { '\tsig=' + (' ' * 1000000) } }
        @{ what = 'repeated <AccountKey><!--'; make = { '<AccountKey><!--' * 63000 } }
        @{ what = '<AccountKey><!-- and one run of comment text'; make = { '<AccountKey><!--' + ('a -' * 340000) } }
        @{ what = 'repeated <AccountKey><![CDATA['; make = { '<AccountKey><![CDATA[' * 48000 } }
        @{ what = 'an opening tag and one run of attributes'; make = { '<add ' + ('key="StorageAccountKey" ' * 42000) } }
        @{ what = 'repeated <add key="AccountKey" value="'; make = { '<add key="AccountKey" value="' * 35000 } }
    ) {
        $text = & $make
        $text.Length | Should -BeGreaterThan 900000
        $null = Scrub 'warm up: AccountKey: x sig=y %2573ig%253D <AccountKey>z'
        ScrubSeconds $text | Should -BeLessThan 2
    }

    It 'takes time linear in the length of the text, whatever it repeats (no catastrophic backtracking)' {
        foreach ($unit in '?', '%3F', 'sig', 's%69g', '&sig= ', 'AccountKey=', ' =', '%', "?sig=`n", 'AccountKey="') {
            $text = $unit * [int](400000 / $unit.Length)
            $watch = [Diagnostics.Stopwatch]::StartNew()
            $null = Scrub $text
            $watch.Elapsed.TotalSeconds | Should -BeLessThan 5 -Because "400,000 characters of '$unit' repeated"
        }
    }

    It 'takes time linear in the length of a text percent-encoded over and over (%2525…), in a process that survives it' {
        # Found by the attack on redact16: the cheap test decoded the text again as long as decoding changed it, one level
        # of recursion per '%25', so '%25' followed by 200,000 '25' took 200,000 nested calls, each copying the text:
        # quadratic time, and a stack overflow that killed the process (a path or message of that length).
        $result = Invoke-FreshPwsh -Script @"
Import-Module '$ModuleManifest'
`$assembly = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'DataraxCkpt.Cmdlets' } | Select-Object -First 1
`$scrubbed = `$assembly.GetType('DataraxCkpt.Commands.Infrastructure.RemoteLocations', `$true).GetMethod('Scrubbed')
foreach (`$text in ('%25' + ('25' * 200000)), ('%2573ig%253D' + ('25' * 200000))) {
    `$watch = [Diagnostics.Stopwatch]::StartNew()
    `$null = `$scrubbed.Invoke(`$null, @(`$text))
    'seconds=' + `$watch.Elapsed.TotalSeconds.ToString([Globalization.CultureInfo]::InvariantCulture)
}
"@
        $result.ExitCode | Should -Be 0 -Because ($result.Output | Select-Object -First 3 | Out-String)
        $seconds = @($result.Output | Where-Object { $_ -like 'seconds=*' } | ForEach-Object { [double]($_ -replace '^seconds=') })
        $seconds.Count | Should -Be 2
        foreach ($s in $seconds) { $s | Should -BeLessThan 5 }
    }
}

Describe 'A connection string typed where a path goes' {
    # Found by the attack on redact16: a connection string whose endpoint follows its key ('…;AccountKey=…;BlobEndpoint=http://…',
    # Azurite's and any explicit-endpoint string) is a path on a drive named '…AccountKey=…;BlobEndpoint=http' to the provider,
    # whose DriveNotFoundException quotes that name in its message and its target: Copy-Checkpoint -Destination and
    # Save-Checkpoint -Path rethrew it as it was (the guard lets PowerShell's own exceptions pass), and every other command
    # kept it as the InvalidPath record's exception.
    BeforeAll {
        $script:source = Join-Path $TestDrive 'conn-source'
        @{ a = 1 } | Save-Checkpoint -LiteralPath $source -Step 1
    }

    It '<command> <path>: no message, target or exception shows SECRET; the id, category and exception type are the provider''s' -ForEach @(
        @{ command = 'Copy-Checkpoint -Destination'; path = 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=SECRET==;BlobEndpoint=http://127.0.0.1:10000/a;'
            id = 'DriveNotFound,DataraxCkpt.Commands.CopyCheckpointCommand'; category = 'ObjectNotFound'; type = [Management.Automation.DriveNotFoundException]
            run = { param($p) Copy-Checkpoint -LiteralPath $source -Destination $p -ErrorAction SilentlyContinue } }
        @{ command = 'Save-Checkpoint -Path'; path = 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=SECRET==;BlobEndpoint=http://127.0.0.1:10000/a;'
            id = 'DriveNotFound,DataraxCkpt.Commands.SaveCheckpointCommand'; category = 'ObjectNotFound'; type = [Management.Automation.DriveNotFoundException]
            run = { param($p) @{ a = 1 } | Save-Checkpoint -Path $p -Step 1 -ErrorAction SilentlyContinue } }
        @{ command = 'Save-Checkpoint -LiteralPath'; path = 'x;AccountKey=SECRET==::/ck'
            id = 'ProviderNotFound,DataraxCkpt.Commands.SaveCheckpointCommand'; category = 'ObjectNotFound'; type = [Management.Automation.ProviderNotFoundException]
            run = { param($p) @{ a = 1 } | Save-Checkpoint -LiteralPath $p -Step 1 -ErrorAction SilentlyContinue } }
        @{ command = 'Get-Checkpoint -Path'; path = 'DefaultEndpointsProtocol=http;AccountName=a;AccountKey=SECRET==;BlobEndpoint=http://127.0.0.1:10000/a;'
            id = 'InvalidPath,DataraxCkpt.Commands.GetCheckpointCommand'; category = 'InvalidArgument'; type = [Management.Automation.DriveNotFoundException]
            run = { param($p) Get-Checkpoint -Path $p -ErrorAction Stop } }
    ) {
        $Error.Clear()
        $caught = $null
        try { & $run $path } catch { $caught = $_ }
        $caught | Should -Not -BeNullOrEmpty
        $caught.FullyQualifiedErrorId | Should -BeExactly $id
        $caught.CategoryInfo.Category | Should -Be $category
        $caught.Exception | Should -BeOfType $type -Because 'catch [its type] still matches'
        $texts = @(Get-ShownErrorTexts $caught) + @(foreach ($record in $Error) { if ($record -is [Management.Automation.ErrorRecord]) { Get-ShownErrorTexts $record } })
        ($texts -join "`n") | Should -BeLike '*<redacted>*'
        foreach ($text in $texts) {
            $text | Should -Not -BeLikeExactly '*SECRET*'
        }
    }

    It 'a drive that holds no secret is still the provider''s own exception, as it raised it' {
        $caught = $null
        try { @{ a = 1 } | Save-Checkpoint -Path 'dxckNoSuchDrive:/ckpt' -Step 1 } catch { $caught = $_ }
        $caught.FullyQualifiedErrorId | Should -BeExactly 'DriveNotFound,DataraxCkpt.Commands.SaveCheckpointCommand'
        $caught.TargetObject | Should -Be 'dxckNoSuchDrive'
    }
}
