# Azurite, Microsoft's Azure Storage emulator, for the tests, examples and benchmarks of remote (az://)
# locations. Dot-sourced by build.ps1: Invoke-WithAzurite installs the version pinned in build/azurite (npm ci
# into tools/azurite), starts its blob service on a free loopback port with a temporary location, exports its
# connection string as DATARAXCKPT_TEST_AZURITE for child processes, runs the task, and always stops it and
# deletes the location afterwards (when the task fails, throws, or is stopped with Ctrl+C as well).

$AzuriteVariable = 'DATARAXCKPT_TEST_AZURITE'

# Azurite's well-known development account (public, documented by Microsoft; not a secret).
$AzuriteAccount = 'devstoreaccount1'
$AzuriteKey = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=='

function Install-Azurite {
    # npm ci from the committed package.json + package-lock.json; again only when the lock changed since the
    # last install (tools/azurite keeps a copy of the lock it was installed from).
    param([Parameter(Mandatory)] [string] $SourceRoot, [Parameter(Mandatory)] [string] $InstallRoot)
    foreach ($tool in 'node', 'npm') {
        if (-not (Get-Command $tool -CommandType Application -ErrorAction Ignore)) {
            throw "$tool is not installed: the tests of remote (az://) locations run against Azurite, an npm package. Install Node.js 20 (with npm) and run the task again."
        }
    }
    $lock = Join-Path $SourceRoot 'package-lock.json'
    $installedLock = Join-Path $InstallRoot 'package-lock.json'
    $bin = Get-AzuriteBlobCommand $InstallRoot
    $current = (Test-Path -LiteralPath $installedLock) -and (Test-Path -LiteralPath $bin) -and
        ((Get-FileHash -LiteralPath $lock).Hash -eq (Get-FileHash -LiteralPath $installedLock).Hash)
    if ($current) { return }

    Write-Host "Installing Azurite (npm ci from $SourceRoot into $InstallRoot)"
    New-Item -ItemType Directory -Force -Path $InstallRoot | Out-Null
    Copy-Item -LiteralPath (Join-Path $SourceRoot 'package.json') -Destination $InstallRoot -Force
    Copy-Item -LiteralPath $lock -Destination $InstallRoot -Force
    Push-Location -LiteralPath $InstallRoot
    try {
        & npm ci --no-audit --no-fund | Out-Host
        if ($LASTEXITCODE -ne 0) {
            # A half-installed tree must not pass for a current one next time.
            Remove-Item -LiteralPath $installedLock -ErrorAction Ignore
            throw "npm ci for Azurite failed with exit code $LASTEXITCODE (in $InstallRoot); see npm's output above."
        }
    }
    finally {
        Pop-Location
    }
    if (-not (Test-Path -LiteralPath $bin)) { throw "npm ci finished but $bin is missing." }
}

function Get-AzuriteBlobCommand([string] $InstallRoot) {
    $name = if ($IsWindows) { 'azurite-blob.cmd' } else { 'azurite-blob' }
    Join-Path $InstallRoot "node_modules/.bin/$name"
}

function Get-FreeLoopbackPort {
    $listener = [Net.Sockets.TcpListener]::new([Net.IPAddress]::Loopback, 0)
    $listener.Start()
    try { return ([Net.IPEndPoint]$listener.LocalEndpoint).Port }
    finally { $listener.Stop() }
}

function Get-AzuriteConnectionString([int] $Port) {
    "DefaultEndpointsProtocol=http;AccountName=$AzuriteAccount;AccountKey=$AzuriteKey;BlobEndpoint=http://127.0.0.1:$Port/$AzuriteAccount;"
}

function Start-Azurite {
    # Returns a handle for Stop-Azurite: the process, its port, location and connection string.
    param([Parameter(Mandatory)] [string] $InstallRoot, [TimeSpan] $StartTimeout = [TimeSpan]::FromSeconds(60))
    $bin = Get-AzuriteBlobCommand $InstallRoot
    $location = Join-Path ([IO.Path]::GetTempPath()) ('dxckpt-azurite-' + [guid]::NewGuid().ToString('N'))
    New-Item -ItemType Directory -Path $location | Out-Null
    $log = Join-Path $location 'azurite-console.log'
    # A port taken between the probe and Azurite's bind makes it exit; try a few ports before giving up.
    for ($attempt = 1; $attempt -le 3; $attempt++) {
        $port = Get-FreeLoopbackPort
        $start = [Diagnostics.ProcessStartInfo]::new($bin)
        foreach ($argument in '--blobHost', '127.0.0.1', '--blobPort', "$port", '--location', $location, '--skipApiVersionCheck', '--loose', '--silent', '--disableTelemetry') {
            $start.ArgumentList.Add($argument)
        }
        $start.UseShellExecute = $false
        $start.RedirectStandardOutput = $true
        $start.RedirectStandardError = $true
        $process = [Diagnostics.Process]::Start($start)
        # Drained asynchronously so that a chatty Azurite never blocks on a full pipe.
        $null = $process.StandardOutput.ReadToEndAsync()
        $errors = $process.StandardError.ReadToEndAsync()
        $handle = [pscustomobject]@{ Process = $process; Port = $port; Location = $location; ConnectionString = Get-AzuriteConnectionString $port }
        $deadline = [DateTime]::UtcNow + $StartTimeout
        while ([DateTime]::UtcNow -lt $deadline -and -not $process.HasExited) {
            if (Test-AzuriteAnswers $port) {
                Write-Host "Azurite $((Get-Content -Raw (Join-Path $InstallRoot 'node_modules/azurite/package.json') | ConvertFrom-Json).version) blob service on http://127.0.0.1:$port (location $location)"
                return $handle
            }
            Start-Sleep -Milliseconds 200
        }
        if (-not $process.HasExited) {
            Stop-Azurite $handle
            throw "Azurite did not answer on 127.0.0.1:$port within $($StartTimeout.TotalSeconds) s."
        }
        Write-Host "Azurite exited with code $($process.ExitCode) on port $port (attempt $attempt): $($errors.Result)"
    }
    Remove-Item -LiteralPath $location -Recurse -Force -ErrorAction Ignore
    throw "Azurite did not start (see its output above); command: $bin."
}

function Test-AzuriteAnswers([int] $Port) {
    # Any HTTP answer (Azurite says 400 or 403 to an unsigned request) means the service is up.
    $client = [Net.Http.HttpClient]::new()
    $client.Timeout = [TimeSpan]::FromSeconds(2)
    try {
        $response = $client.GetAsync("http://127.0.0.1:$Port/$AzuriteAccount`?comp=list").GetAwaiter().GetResult()
        $response.Dispose()
        return $true
    }
    catch { return $false }
    finally { $client.Dispose() }
}

function Stop-Azurite {
    param([Parameter(Mandatory)] $Handle)
    $process = $Handle.Process
    if (-not $process.HasExited) {
        # The whole tree: on Windows the .cmd shim starts node as a child.
        $process.Kill($true)
        $null = $process.WaitForExit(10000)
    }
    $process.Dispose()
    Remove-Item -LiteralPath $Handle.Location -Recurse -Force -ErrorAction Ignore
    Write-Host "Azurite stopped; its location $($Handle.Location) is deleted."
}

function Invoke-WithAzurite {
    # Runs $Task with Azurite up and DATARAXCKPT_TEST_AZURITE set (the task gets Start-Azurite's handle as its
    # argument); stops it whatever happens. The task's own result (its return value or exception) passes through.
    param([Parameter(Mandatory)] [string] $SourceRoot, [Parameter(Mandatory)] [string] $InstallRoot, [Parameter(Mandatory)] [scriptblock] $Task)
    Install-Azurite -SourceRoot $SourceRoot -InstallRoot $InstallRoot
    $handle = Start-Azurite -InstallRoot $InstallRoot
    $saved = [Environment]::GetEnvironmentVariable($AzuriteVariable)
    [Environment]::SetEnvironmentVariable($AzuriteVariable, $handle.ConnectionString)
    try {
        & $Task $handle
    }
    finally {
        # Unset again when it was unset (pwsh would pass $null to .NET as an empty string).
        if ($null -eq $saved) { Remove-Item -LiteralPath "env:$AzuriteVariable" -ErrorAction Ignore }
        else { Set-Item -LiteralPath "env:$AzuriteVariable" -Value $saved }
        Stop-Azurite $handle
    }
}
