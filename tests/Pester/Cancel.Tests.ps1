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
        $bytes = [byte[]]::new(600MB)
        [Random]::new(5).NextBytes($bytes)
        @{ blob = $bytes } | Save-Checkpoint -LiteralPath $dir -Step 1
        $bytes = $null
        $run = Start-InRunspace -Script @'
param($d)
$null = Restore-Checkpoint -LiteralPath $d
'done'
'@ -Arguments @($dir)
        try {
            Start-Sleep -Milliseconds 300
            $run.PowerShell.Stop()
            $state = $run.PowerShell.InvocationStateInfo.State
        }
        finally {
            $run.PowerShell.Dispose()
            $run.Runspace.Dispose()
        }
        [GC]::Collect()
        if ($state -eq 'Completed') {
            Set-ItResult -Inconclusive -Because 'the restore finished within 300 ms on this machine, before it could be stopped'
            return
        }
        $state | Should -Be 'Stopped'
        (Test-Checkpoint -LiteralPath $dir -Step 1).Ok | Should -BeTrue
    }
}
