#requires -Version 7.4
<#
.SYNOPSIS
    Builds, tests and runs the examples of the DataraxCkpt module.

.DESCRIPTION
    A thin front end over the dotnet CLI: every task is a short function below. Needs only the .NET SDK:
    pwsh comes from the local tool manifest and Pester from NuGet (restored into tools/, which git ignores).

      Build    lays the module out in out/DataraxCkpt: the manifest, DataraxCkpt.Cmdlets.dll and its views in
               the module root; help (MAML and about topic, from docs/help/*.md) in en-US/; the engine and all
               its dependencies (managed and native) in lib/, all IL-only, and ReadyToRun copies of lib/'s
               assemblies for this machine's RID and runtime in lib/readytorun/<rid>-net<major>, which the
               engine loads on a matching runtime (Add-ReadyToRunCode); elsewhere it runs from lib/'s IL.
      Test     Build, then the xunit tests (tests/Unit) and the Pester tests (tests/Pester) in a fresh pwsh
               against out/DataraxCkpt (installing the lz4 tool and strace first when missing: the lz4 interop test and the crash-state explorer need them). Ends with the line
               "N passed, N failed, N skipped"; exits non-zero on a failure, on a runner's non-zero exit code
               or incomplete outcome, when fewer tests ran than tests/test-floor.json requires, and (when
               CI=true) on a skip not allowed there. Every FIGURE line goes to out/figures.txt.
               Test, Example and Bench run with Azurite (build/Azurite.ps1): npm ci of the version pinned in
               build/azurite into tools/azurite, its blob service on a free loopback port with a temporary
               location, its connection string in DATARAXCKPT_TEST_AZURITE; stopped and deleted afterwards.
      Figures  Renders the last test run's out/figures.txt into docs/guarantees.md and keeps it as
               docs/figures/guarantees.txt (commit both; a Pester test checks they agree).
      Mutate   Stryker.NET over the files of build/mutation-targets.json (-Mutate names a subset), each
               against the tests that cover it; scores into build/mutation-scores.json and docs/guarantees.md.
      Example  Build, then runs every examples/*.ps1 in a fresh pwsh, each in a new temporary folder.
      Bench    Build, then bench/run-all.ps1: every scenario against its baselines (raw file I/O, the lz4
               tool, numpy/torch when installed); prints a table and rewrites docs/benchmarks.md.
      Soak     tests/soak.ps1: the reliability suites with many more kills, load time and fuzz cases.
      Package  Build, then publishes the module with Publish-PSResource to the local folder repository
               out/repository (DataraxCkpt.<version>.nupkg), installable with Install-PSResource.

.EXAMPLE
    dotnet tool restore && dotnet pwsh ./build.ps1 -Task Test
#>
[CmdletBinding()]
param(
    [ValidateSet('Build', 'Test', 'Figures', 'Mutate', 'Example', 'Bench', 'Soak', 'Package')]
    [string] $Task = 'Build',

    # For -Task Mutate: the targets of build/mutation-targets.json to run (default: all of them).
    [string[]] $Mutate,

    [ValidateSet('Debug', 'Release')]
    [string] $Configuration = 'Release'
)

$ErrorActionPreference = 'Stop'
Set-StrictMode -Version 3.0

$RepoRoot = $PSScriptRoot
$ModuleRoot = Join-Path $RepoRoot 'out/DataraxCkpt'
$ResultsRoot = Join-Path $RepoRoot 'out/TestResults'
$ToolPackages = Join-Path $RepoRoot 'tools/packages'
$PesterManifest = Join-Path $ToolPackages 'pester/5.7.1/tools/Pester.psd1'
$PackageRoot = Join-Path $RepoRoot 'out/repository'
$FloorPath = Join-Path $RepoRoot 'tests/test-floor.json'
$FiguresPath = Join-Path $RepoRoot 'out/figures.txt'

. (Join-Path $RepoRoot 'build/TestRunEvidence.ps1')
. (Join-Path $RepoRoot 'build/Azurite.ps1')
$AzuriteSource = Join-Path $RepoRoot 'build/azurite'
$AzuriteRoot = Join-Path $RepoRoot 'tools/azurite'

function Invoke-Dotnet {
    # Native failures do not throw in pwsh 7.4; a build step that failed must stop the build.
    # A simple function (no [Parameter]) so that dotnet switches such as -v are not taken as -Verbose.
    & dotnet @args
    if ($LASTEXITCODE -ne 0) { throw "dotnet $($args -join ' ') failed with exit code $LASTEXITCODE." }
}

function Get-FreshPwsh {
    # The pwsh running this script, started anew: `dotnet pwsh` would look for the tool manifest in
    # the child's working folder, which for examples is a temporary one.
    $pwshDll = Join-Path $PSHOME 'pwsh.dll'
    if ([IO.Path]::GetFileNameWithoutExtension([Environment]::ProcessPath) -eq 'dotnet' -and (Test-Path $pwshDll)) {
        return @([Environment]::ProcessPath, $pwshDll)
    }
    return @([Environment]::ProcessPath)
}

function Invoke-FreshPwsh {
    # Runs a script in a fresh pwsh (see Get-FreshPwsh) and fails the task when it fails.
    $pwsh = Get-FreshPwsh
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive @args
    if ($LASTEXITCODE -ne 0) { throw "pwsh $($args -join ' ') failed with exit code $LASTEXITCODE." }
}

# The runtime identifiers pwsh 7.4+ runs on; SQLite's native library ships for these only.
$SupportedRids = @('win-x64', 'win-x86', 'win-arm64', 'linux-x64', 'linux-arm64', 'linux-arm', 'linux-musl-x64', 'linux-musl-arm64', 'osx-x64', 'osx-arm64')
# Portable RIDs of those: managed per-OS assets (the Azure SDK's System.Security.Cryptography.ProtectedData
# for Windows under runtimes/win/lib) must stay, or Windows would load the throwing reference assembly.
$KeptRids = $SupportedRids + @('win', 'unix', 'linux', 'osx')

function Edit-EngineDeps {
    # Rewrites the engine's deps.json to match what lib/ ships: no DataraxCkpt.Types (it loads from the
    # module root) and native assets only for $SupportedRids, whose other runtimes/<rid> folders go.
    param([string] $DepsPath, [string] $Lib)
    $deps = Get-Content -Raw -LiteralPath $DepsPath | ConvertFrom-Json -AsHashtable
    foreach ($target in $deps.targets.Values) {
        foreach ($key in @($target.Keys)) {
            if ($key -like 'DataraxCkpt.Types/*') { $target.Remove($key); continue }
            $library = $target[$key]
            if ($library.ContainsKey('dependencies')) { $library.dependencies.Remove('DataraxCkpt.Types') }
            if ($library.ContainsKey('runtimeTargets')) {
                foreach ($asset in @($library.runtimeTargets.Keys)) {
                    if ($library.runtimeTargets[$asset].rid -notin $KeptRids) { $library.runtimeTargets.Remove($asset) }
                }
            }
        }
    }
    foreach ($key in @($deps.libraries.Keys)) {
        if ($key -like 'DataraxCkpt.Types/*') { $deps.libraries.Remove($key) }
    }
    $deps | ConvertTo-Json -Depth 64 | Set-Content -LiteralPath $DepsPath -Encoding utf8NoBOM

    $runtimes = Join-Path $Lib 'runtimes'
    foreach ($ridFolder in Get-ChildItem -LiteralPath $runtimes -Directory) {
        if ($ridFolder.Name -notin $KeptRids) { Remove-Item -LiteralPath $ridFolder.FullName -Recurse -Force }
    }
}

function Get-BuildRid {
    # The portable runtime identifier of the building machine (linux-x64, win-arm64, ...): ReadyToRun code
    # is compiled for one OS and architecture. RuntimeInformation.RuntimeIdentifier may name a distro
    # (ubuntu.24.04-x64) on source-built runtimes, so the RID is composed from the OS and architecture.
    $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' }
          elseif ([Runtime.InteropServices.RuntimeInformation]::RuntimeIdentifier -like '*musl*') { 'linux-musl' }
          else { 'linux' }
    # The process's architecture: ReadyToRun code runs in this runtime (an x64 pwsh emulated on arm64 is x64).
    $arch = [Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
    $rid = "$os-$arch"
    if ($rid -in $SupportedRids) { return $rid }
    return $null
}

function Add-ReadyToRunCode {
    # Adds ReadyToRun copies of the engine and its packages (lib/), so that the first calls in a process
    # do not pay the JIT
    # (docs/performance-notes.md, round 5). The code is compiled for the building machine's RID and for
    # the runtime this build runs on: the runtime uses ReadyToRun code only when the image's format major
    # version is one it supports, and .NET 10 ignores what the .NET 8 compiler (the one the SDK uses for
    # a net8.0 publish) emits. So the compiler is crossgen2 of the running runtime's major version,
    # against the running shared framework. A runtime refuses to load a ReadyToRun image compiled for
    # another OS or architecture (BadImageFormatException, not a fallback to its IL), so the images go to
    # lib/readytorun/<rid>-net<major>, which the engine's load context prefers on a matching runtime
    # (ReadyToRunImages); the module root and lib/ stay IL-only, and the module folder and its package
    # load on every supported runtime. The cmdlet and user-type assemblies, which pwsh loads by path,
    # stay IL. lib/'s deps.json and its runtimes/<rid>/native SQLite libraries stay those of the portable publish.
    param([string] $Lib)
    $rid = Get-BuildRid
    if (-not $rid) {
        Write-Warning "No ReadyToRun code: this machine's runtime is not one of $($SupportedRids -join ', ')."
        return
    }
    $major = [Environment]::Version.Major
    $compilerProject = Join-Path $RepoRoot 'build/readytorun/ReadyToRunCompiler.csproj'
    Invoke-Dotnet restore $compilerProject "-p:CompilerFramework=net$major.0" -r $rid --nologo --verbosity quiet
    $exe = if ($IsWindows) { 'crossgen2.exe' } else { 'crossgen2' }
    $crossgen = Get-ChildItem -Path (Join-Path (Get-NuGetPackagesRoot) "microsoft.netcore.app.crossgen2.$rid/$major.*/tools/$exe") |
        Sort-Object { [version] $_.Directory.Parent.Name } | Select-Object -Last 1
    if (-not $crossgen) { throw "The restore of $compilerProject brought no crossgen2 for .NET $major ($rid)." }

    # A package with RID-specific managed assets (runtimes/win/lib for ProtectedData) loads another file
    # on some platforms: it keeps its IL. The cmdlet assembly compiles against PowerShellStandard (a
    # compile-only package) and the engine; crossgen2 needs every referenced assembly, or it skips the
    # methods whose signatures name a missing type.
    $deps = Get-Content -Raw -LiteralPath (Join-Path $Lib 'DataraxCkpt.Engine.deps.json') | ConvertFrom-Json -AsHashtable
    $ridSpecific = [Collections.Generic.HashSet[string]]::new([StringComparer]::OrdinalIgnoreCase)
    foreach ($target in $deps.targets.Values) {
        foreach ($library in $target.Values) {
            if ($library.ContainsKey('runtimeTargets') -and $library.ContainsKey('runtime') -and
                @($library.runtimeTargets.Values | Where-Object assetType -EQ 'runtime').Count -gt 0) {
                foreach ($asset in $library.runtime.Keys) { [void] $ridSpecific.Add([IO.Path]::GetFileName($asset)) }
            }
        }
    }
    $sma = Get-ChildItem -Path (Join-Path (Get-NuGetPackagesRoot) 'powershellstandard.library/*/lib/netstandard2.0/System.Management.Automation.dll') |
        Select-Object -Last 1
    $framework = [Runtime.InteropServices.RuntimeEnvironment]::GetRuntimeDirectory()
    $os, $arch = ($rid -replace '^linux-musl', 'linux') -split '-', 2
    if ($os -eq 'win') { $os = 'windows' }
    $references = @("-r:$(Join-Path $framework '*.dll')", "-r:$(Join-Path $Lib '*.dll')",
        "-r:$(Join-Path $ModuleRoot 'DataraxCkpt.Types.dll')", "-r:$($sma.FullName)")
    $inputs = @(Get-ChildItem -LiteralPath $Lib -Filter '*.dll' -File | Where-Object { -not $ridSpecific.Contains($_.Name) })
    # Named for what the images target (ReadyToRunImages): glibc and musl Linux share crossgen2's linux target.
    $target = Join-Path $Lib "readytorun/$($rid -replace '^linux-musl', 'linux')-net$major"
    New-Item -ItemType Directory -Path $target -Force | Out-Null
    foreach ($assembly in $inputs) {
        $output = & $crossgen.FullName $assembly.FullName -o (Join-Path $target $assembly.Name) "--targetos:$os" "--targetarch:$arch" -O @references 2>&1
        if ($LASTEXITCODE -ne 0) { throw "crossgen2 failed on $($assembly.Name): $($output -join "`n")" }
    }
    Write-Host "ReadyToRun code for $rid, .NET $major, of $($inputs.Count) assemblies in $target."
}

function Get-NuGetPackagesRoot {
    if ($env:NUGET_PACKAGES) { return $env:NUGET_PACKAGES }
    return Join-Path ([Environment]::GetFolderPath('UserProfile')) '.nuget/packages'
}

function Invoke-Build {
    Invoke-Dotnet tool restore
    Invoke-Dotnet build (Join-Path $RepoRoot 'src/Cmdlets/DataraxCkpt.Cmdlets.csproj') -c $Configuration --nologo --verbosity quiet

    if (Test-Path $ModuleRoot) { Remove-Item -LiteralPath $ModuleRoot -Recurse -Force }
    $lib = Join-Path $ModuleRoot 'lib'
    # The engine's publish output carries its deps.json and runtimes/<rid>/native, which the module's
    # private load context needs to find SQLite's native library.
    Invoke-Dotnet publish (Join-Path $RepoRoot 'src/Engine/DataraxCkpt.Engine.csproj') -c $Configuration -o $lib --nologo --verbosity quiet

    # The user-facing types load in the default context from the module root (RequiredAssemblies), so
    # they leave lib/ and the engine's deps.json: one copy, shared by scripts, cmdlets and engine.
    Remove-Item -Path (Join-Path $lib 'DataraxCkpt.Types.*')
    Edit-EngineDeps -DepsPath (Join-Path $lib 'DataraxCkpt.Engine.deps.json') -Lib $lib

    $cmdletsBin = Join-Path $RepoRoot "src/Cmdlets/bin/$Configuration/net8.0"
    foreach ($file in 'DataraxCkpt.Cmdlets.dll', 'DataraxCkpt.Cmdlets.pdb', 'DataraxCkpt.Types.dll', 'DataraxCkpt.Types.pdb', 'DataraxCkpt.Types.xml') {
        Copy-Item -LiteralPath (Join-Path $cmdletsBin $file) -Destination $ModuleRoot
    }
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'LICENSE') -Destination $ModuleRoot
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'DataraxCkpt.psd1') -Destination $ModuleRoot
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'src/Cmdlets/Formats/DataraxCkpt.format.ps1xml') -Destination $ModuleRoot
    Copy-Item -LiteralPath (Join-Path $RepoRoot 'src/Cmdlets/Formats/DataraxCkpt.types.ps1xml') -Destination $ModuleRoot
    Add-ReadyToRunCode -Lib $lib

    # Help is generated in a fresh pwsh from docs/help/*.md and the built cmdlets' own metadata.
    $pwsh = Get-FreshPwsh
    & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File (Join-Path $RepoRoot 'build/New-ModuleHelp.ps1') `
        -ModuleRoot $ModuleRoot -HelpSource (Join-Path $RepoRoot 'docs/help') -Destination (Join-Path $ModuleRoot 'en-US')
    if ($LASTEXITCODE -ne 0) { throw 'Generating the module help failed (see the HELP: lines above).' }

    if (Test-Path (Join-Path $ModuleRoot 'DataraxCkpt.Engine.dll')) {
        throw 'The engine must live only in lib/ (see docs/architecture.md); the module root holds a copy.'
    }
    if (Test-Path (Join-Path $lib 'DataraxCkpt.Types.dll')) {
        throw 'DataraxCkpt.Types must live only in the module root (see docs/architecture.md); lib/ holds a copy.'
    }
    Write-Host "Module laid out in $ModuleRoot"
}

function Restore-TestTools {
    if (-not (Test-Path $PesterManifest)) {
        Invoke-Dotnet restore (Join-Path $RepoRoot 'build/Tools.csproj') --packages $ToolPackages --nologo --verbosity quiet
    }
}

function Install-Strace {
    # The crash-state explorer (tests/Unit/Reliability/CrashStates) records system calls with strace.
    # Without it that test is skipped, or fails under CI=true; so the build installs Debian's package.
    if (-not $IsLinux -or (Get-Command strace -CommandType Application -ErrorAction Ignore)) { return }
    $aptGet = @(if ((& id -u) -ne '0' -and (Get-Command sudo -CommandType Application -ErrorAction Ignore)) { 'sudo', '-n', 'apt-get' } else { 'apt-get' })
    Write-Host 'strace is missing; installing it with apt-get (needed by the crash-state explorer).'
    & $aptGet[0] @($aptGet | Select-Object -Skip 1) install -y -q strace | Out-Host
    if ($LASTEXITCODE -ne 0) {
        # A fresh container has no package lists yet.
        & $aptGet[0] @($aptGet | Select-Object -Skip 1) update -q | Out-Host
        & $aptGet[0] @($aptGet | Select-Object -Skip 1) install -y -q strace | Out-Host
    }
    if (-not (Get-Command strace -CommandType Application -ErrorAction Ignore)) {
        Write-Warning 'Could not install strace: the crash-state explorer will be skipped (and fail under CI=true).'
    }
}

function Install-TestPrerequisites {
    # The lz4 interop test needs the reference lz4 tool; without it the test reports a skip (which CI
    # refuses), so install it once here rather than let the suite run without it.
    if (Get-Command lz4 -CommandType Application -ErrorAction Ignore) { return }
    if (-not (Get-Command apt-get -CommandType Application -ErrorAction Ignore)) {
        Write-Warning 'The lz4 tool is missing and apt-get is not available: the lz4 interop test will be skipped.'
        return
    }
    # Not `$sudo = if (root) { @() }`: an empty array output by a statement assigns $null, and root was told it cannot run apt-get.
    $sudo = if ((& id -u) -eq '0') { , @() } elseif (Get-Command sudo -ErrorAction Ignore) { @('sudo', '-n') } else { $null }
    if ($null -eq $sudo) {
        Write-Warning 'The lz4 tool is missing and this user cannot run apt-get: the lz4 interop test will be skipped.'
        return
    }
    Write-Host 'Installing the lz4 tool (apt-get) for the lz4 interop test'
    $run = { param([string[]] $Command) $all = @($sudo) + $Command; & $all[0] @($all | Select-Object -Skip 1) | Out-Host; $LASTEXITCODE }
    $code = & $run @('apt-get', 'install', '-y', '-qq', 'lz4')
    if ($code -ne 0) {
        # A fresh image has no package lists yet.
        $null = & $run @('apt-get', 'update', '-qq')
        $code = & $run @('apt-get', 'install', '-y', '-qq', 'lz4')
    }
    if ($code -ne 0) { Write-Warning "apt-get install lz4 failed (exit $code): the lz4 interop test will be skipped." }
}

function Invoke-UnitTests {
    # Counts come from the TRX file, and the run is only trusted when dotnet test also exited 0 and the
    # TRX says the run Completed (see build/TestRunEvidence.ps1).
    $trxName = 'unit.trx'
    $trxPath = Join-Path $ResultsRoot $trxName
    Remove-Item -LiteralPath $trxPath -ErrorAction Ignore
    & dotnet test (Join-Path $RepoRoot 'tests/Unit') -c $Configuration --nologo --logger "trx;LogFileName=$trxName" --results-directory $ResultsRoot | Out-Host
    return Read-UnitTestRun $trxPath $LASTEXITCODE
}

function Invoke-PesterTests {
    # Pester runs in a fresh process so that the module is imported as a user would import it, with no
    # engine already loaded by this script; counts come back through a file.
    $countsPath = Join-Path $ResultsRoot 'pester-counts.json'
    Remove-Item -LiteralPath $countsPath -ErrorAction Ignore
    $runner = Join-Path $RepoRoot 'build/Invoke-PesterRun.ps1'
    & dotnet pwsh -NoProfile -NonInteractive -File $runner -PesterManifest $PesterManifest -ModuleRoot $ModuleRoot `
        -TestPath (Join-Path $RepoRoot 'tests/Pester') -CountsPath $countsPath | Out-Host
    return Read-PesterRun $countsPath $LASTEXITCODE
}

function Invoke-Test {
    Invoke-Build
    Restore-TestTools
    Install-Strace
    Install-TestPrerequisites
    New-Item -ItemType Directory -Force -Path $ResultsRoot | Out-Null
    $env:DATARAXCKPT_MODULE = $ModuleRoot
    $env:DATARAXCKPT_TOOLS = $ToolPackages
    # Every test that prints a FIGURE line also appends it here; `-Task Figures` renders it into the docs.
    Remove-Item -LiteralPath $FiguresPath -ErrorAction Ignore
    $env:DATARAXCKPT_FIGURES_FILE = $FiguresPath

    $isCi = $env:CI -eq 'true'
    # The tests of remote locations run against Azurite, up for both runners and stopped after them.
    $code = Invoke-WithAzurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot -Task {
        $unit = Invoke-UnitTests
        $pester = Invoke-PesterTests
        Complete-TestRun $unit $pester $FloorPath $isCi $FiguresPath
    }
    exit $code
}

function Invoke-Figures {
    if (-not (Test-Path -LiteralPath $FiguresPath)) { throw "No figures yet: run -Task Test first (it writes $FiguresPath)." }
    Invoke-FreshPwsh -File (Join-Path $RepoRoot 'build/Update-GuaranteeFigures.ps1') -FiguresPath $FiguresPath
}

function Invoke-Mutate {
    $arguments = @('-File', (Join-Path $RepoRoot 'build/Invoke-Mutation.ps1'))
    if ($Mutate) { $arguments += @('-Only', ($Mutate -join ',')) }
    Invoke-FreshPwsh @arguments
}

function Invoke-Example {
    Invoke-Build
    $pwsh = Get-FreshPwsh
    # examples/remote-store.ps1 reaches Azurite as a user reaches an account: through the connection string.
    $saved = $env:AZURE_STORAGE_CONNECTION_STRING
    try {
        $failures = Invoke-WithAzurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot -Task {
            $env:AZURE_STORAGE_CONNECTION_STRING = $env:DATARAXCKPT_TEST_AZURITE
            Invoke-Examples $pwsh
        }
    }
    finally {
        if ($null -eq $saved) { Remove-Item -LiteralPath env:AZURE_STORAGE_CONNECTION_STRING -ErrorAction Ignore }
        else { $env:AZURE_STORAGE_CONNECTION_STRING = $saved }
    }
    if ($failures -gt 0) { exit 1 }
}

function Invoke-Examples($pwsh) {
    # Every example in a fresh pwsh and a new temporary folder; returns how many failed.
    $failures = 0
    foreach ($example in Get-ChildItem -LiteralPath (Join-Path $RepoRoot 'examples') -Filter '*.ps1' | Sort-Object Name) {
        $workDir = Join-Path ([IO.Path]::GetTempPath()) ("dxckpt-example-" + [guid]::NewGuid().ToString('N'))
        New-Item -ItemType Directory -Path $workDir | Out-Null
        Write-Host "==> $($example.Name) (in $workDir)"
        Push-Location -LiteralPath $workDir
        try {
            & $pwsh[0] @($pwsh | Select-Object -Skip 1) -NoProfile -NonInteractive -File $example.FullName -ModuleRoot $ModuleRoot | Out-Host
            if ($LASTEXITCODE -ne 0) { $failures++; Write-Host "FAILED: $($example.Name) exited with $LASTEXITCODE" }
        }
        finally {
            Pop-Location
            Remove-Item -LiteralPath $workDir -Recurse -Force -ErrorAction Ignore
        }
    }
    return $failures
}

function Invoke-Bench {
    # Every scenario of docs/benchmarks.md against its baselines, with the module built for scenario (e).
    Invoke-Build
    Invoke-WithAzurite -SourceRoot $AzuriteSource -InstallRoot $AzuriteRoot -Task {
        Invoke-FreshPwsh -File (Join-Path $RepoRoot 'bench/run-all.ps1') -ModulePath $ModuleRoot
    }
}

function Invoke-Package {
    # PSResourceGet (shipped with pwsh) publishes only to a registered repository. The registration is
    # made in a fresh pwsh whose per-user data folder is a temporary one, so the user's own repository
    # list is never touched.
    Invoke-Build
    if (Test-Path $PackageRoot) { Remove-Item -LiteralPath $PackageRoot -Recurse -Force }
    New-Item -ItemType Directory -Path $PackageRoot | Out-Null
    $userData = Join-Path ([IO.Path]::GetTempPath()) ('dxckpt-package-' + [guid]::NewGuid().ToString('N'))
    # It must exist: .NET answers an empty per-user data folder for a missing one, and PSResourceGet would
    # then keep its repository list in the working folder.
    New-Item -ItemType Directory -Path $userData | Out-Null
    $saved = @{ XDG_DATA_HOME = $env:XDG_DATA_HOME; LOCALAPPDATA = $env:LOCALAPPDATA }
    $env:XDG_DATA_HOME = $userData
    $env:LOCALAPPDATA = $userData
    try {
        Invoke-FreshPwsh -Command @"
`$ErrorActionPreference = 'Stop'
Register-PSResourceRepository -Name DataraxCkptBuild -Uri '$PackageRoot' -Trusted
Publish-PSResource -Path '$ModuleRoot' -Repository DataraxCkptBuild
"@
    }
    finally {
        $env:XDG_DATA_HOME = $saved.XDG_DATA_HOME
        $env:LOCALAPPDATA = $saved.LOCALAPPDATA
        Remove-Item -LiteralPath $userData -Recurse -Force -ErrorAction Ignore
    }
    $package = Get-ChildItem -LiteralPath $PackageRoot -Filter 'DataraxCkpt.*.nupkg'
    if (-not $package) { throw "Publish-PSResource wrote no DataraxCkpt package to $PackageRoot." }
    Write-Host "Package written: $($package.FullName)"
}

function Invoke-Soak {
    # The reliability suites of tests/Unit/Reliability with many more kills, load time and fuzz cases.
    Invoke-FreshPwsh -File (Join-Path $RepoRoot 'tests/soak.ps1')
}

Push-Location -LiteralPath $RepoRoot
try {
    switch ($Task) {
        'Build' { Invoke-Build }
        'Test' { Invoke-Test }
        'Figures' { Invoke-Figures }
        'Mutate' { Invoke-Mutate }
        'Example' { Invoke-Example }
        'Bench' { Invoke-Bench }
        'Soak' { Invoke-Soak }
        'Package' { Invoke-Package }
    }
}
finally {
    Pop-Location
}
