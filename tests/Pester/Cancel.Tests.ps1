# Ctrl+C (StopProcessing) stops long work: a stopped save leaves the store as a crash would (issue 11, item 5).

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function Start-InRunspace([string] $Script, [object[]] $Arguments) {
        # The module is imported when the runspace opens, so the script is one statement: stopping a
        # multi-statement (batch) invocation and disposing it lets pwsh run the next statement on a
        # closed runspace, an unhandled exception that ends the whole test process.
        $iss = [initialsessionstate]::CreateDefault2()
        $iss.ImportPSModule([string[]] @($ModuleManifest))
        $rs = [runspacefactory]::CreateRunspace($iss)
        $rs.Open()
        $ps = [powershell]::Create($rs)
        $null = $ps.AddScript($Script)
        foreach ($a in $Arguments) { $null = $ps.AddArgument($a) }
        [pscustomobject]@{ PowerShell = $ps; Runspace = $rs; Async = $ps.BeginInvoke() }
    }

    function Wait-Until([scriptblock] $Condition, [int] $Seconds = 60) {
        $sw = [Diagnostics.Stopwatch]::StartNew()
        while (-not (& $Condition)) {
            if ($sw.Elapsed.TotalSeconds -gt $Seconds) { throw "Timed out after $Seconds s waiting for: $Condition" }
            Start-Sleep -Milliseconds 20
        }
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Stopping a long command' {
    It 'stops a save mid-write: nothing listed, no step folder, staging swept, and the step number free' {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        @{ a = 1 } | Save-Checkpoint -LiteralPath $dir -Step 1
        # 600 MB of random bytes: incompressible, so the write takes seconds here.
        $run = Start-InRunspace -Script @'
param($d)
$bytes = [byte[]]::new(600MB)
[Random]::new(3).NextBytes($bytes)
@{ blob = $bytes } | Save-Checkpoint -LiteralPath $d -Step 2
'@ -Arguments @($dir)
        try {
            Wait-Until { @(Get-ChildItem -LiteralPath (Join-Path $dir '.staging') -Directory -ErrorAction Ignore).Count -gt 0 }
            $sw = [Diagnostics.Stopwatch]::StartNew()
            $run.PowerShell.Stop()
            $sw.Stop()
            $run.PowerShell.InvocationStateInfo.State | Should -Be 'Stopped'
            $sw.Elapsed.TotalSeconds | Should -BeLessThan 20
        }
        finally {
            $run.PowerShell.Dispose()
            $run.Runspace.Dispose()
        }

        Get-CheckpointStep -LiteralPath $dir | Should -Be @(1)
        Join-Path $dir '2' | Should -Not -Exist
        @(Get-ChildItem -LiteralPath (Join-Path $dir '.staging') -Force -ErrorAction Ignore) | Should -BeNullOrEmpty
        (@{ a = 2 } | Save-Checkpoint -LiteralPath $dir -PassThru).Step | Should -Be 2
    }

    It 'stops a restore mid-read and leaves the step intact' {
        $dir = Join-Path $TestDrive ([guid]::NewGuid().ToString('N'))
        $bytes = [byte[]]::new(256MB)
        [Random]::new(5).NextBytes($bytes)
        @{ blob = $bytes } | Save-Checkpoint -LiteralPath $dir -Step 1
        $bytes = $null
        # A slow disk at a known pace (the fault seam, docs/guarantees.md): each of the 64 chunks takes
        # 200 ms more, one at a time, so the whole restore would last over 12 s on a machine of any speed. The
        # stop comes once the restore has shown progress, i.e. mid-read.
        $run = Invoke-FreshPwsh -Environment @{ DATARAXCKPT_FAULT = 'restore.chunk-decoded=delay:200@1+' } -Script @"
`$ErrorActionPreference = 'Stop'
`$iss = [initialsessionstate]::CreateDefault2()
`$iss.ImportPSModule([string[]] @('$ModuleManifest'))
`$rs = [runspacefactory]::CreateRunspace(`$iss)
`$rs.Open()
`$ps = [powershell]::Create(`$rs)
`$null = `$ps.AddScript('param(`$d) `$ProgressPreference = ''Continue''; `$null = Restore-Checkpoint -LiteralPath `$d; ''done''').AddArgument('$dir')
`$async = `$ps.BeginInvoke()
`$wait = [Diagnostics.Stopwatch]::StartNew()
while (-not @(`$ps.Streams.Progress | Where-Object { `$_.RecordType -eq 'Processing' -and `$_.PercentComplete -gt 0 })) {
    if (`$async.IsCompleted) { throw 'The restore ended before it showed progress.' }
    if (`$wait.Elapsed.TotalSeconds -gt 60) { throw 'The restore showed no progress within 60 s.' }
    Start-Sleep -Milliseconds 20
}
`$sw = [Diagnostics.Stopwatch]::StartNew()
`$ps.Stop()
[pscustomobject]@{ State = "`$(`$ps.InvocationStateInfo.State)"; StopSeconds = `$sw.Elapsed.TotalSeconds } | ConvertTo-Json -Compress
"@
        $run.ExitCode | Should -Be 0 -Because ($run.Output -join "`n")
        $result = $run.Output[-1] | ConvertFrom-Json
        $result.State | Should -Be 'Stopped'
        # Not the 12 s the rest of the restore would take: the engine stopped taking chunks.
        $result.StopSeconds | Should -BeLessThan 6
        (Test-Checkpoint -LiteralPath $dir -Step 1).Ok | Should -BeTrue
        (Restore-Checkpoint -LiteralPath $dir).blob.Length | Should -Be 256MB
    }
}
