# The built module folder as a user receives it: manifest, exports, loading in a fresh process,
# isolation of the engine's dependencies, and the conventions a script analyzer would check.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force
    $ExpectedCmdlets = @('Compare-Checkpoint', 'Get-Checkpoint', 'Get-CheckpointItem', 'Get-CheckpointStep', 'Lock-Checkpoint',
        'Remove-Checkpoint', 'Repair-CheckpointIndex', 'Restore-Checkpoint', 'Save-Checkpoint', 'Test-Checkpoint', 'Unlock-Checkpoint', 'New-PrngKey', 'Copy-Checkpoint')
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'The module manifest' {
    It 'passes Test-ModuleManifest' {
        { Test-ModuleManifest -Path $ModuleManifest -ErrorAction Stop } | Should -Not -Throw
    }

    It 'requires PowerShell 7.4 Core and exports explicit lists' {
        $data = Import-PowerShellDataFile -Path $ModuleManifest
        $data.PowerShellVersion | Should -Be '7.4'
        $data.CompatiblePSEditions | Should -Be @('Core')
        $data.RootModule | Should -Be 'DataraxCkpt.Cmdlets.dll'
        $data.FunctionsToExport.Count | Should -Be 0
        $data.AliasesToExport.Count | Should -Be 0
        $data.VariablesToExport.Count | Should -Be 0
        foreach ($name in $ExpectedCmdlets) { $data.CmdletsToExport | Should -Contain $name }
    }

    It 'exports exactly the cmdlets the manifest lists' {
        $data = Import-PowerShellDataFile -Path $ModuleManifest
        $exported = (Get-Command -Module DataraxCkpt).Name | Sort-Object
        $exported | Should -Be ($data.CmdletsToExport | Sort-Object)
    }
}

Describe 'The module folder layout' {
    It 'keeps the engine and its dependencies only in lib/' {
        Join-Path $ModuleRoot 'DataraxCkpt.Engine.dll' | Should -Not -Exist
        Join-Path $ModuleRoot 'Microsoft.Data.Sqlite.dll' | Should -Not -Exist
        Join-Path $ModuleRoot 'lib/DataraxCkpt.Engine.dll' | Should -Exist
        Join-Path $ModuleRoot 'lib/DataraxCkpt.Engine.deps.json' | Should -Exist
        Join-Path $ModuleRoot 'lib/Microsoft.Data.Sqlite.dll' | Should -Exist
    }

    It 'ships the native SQLite library for this platform under lib/runtimes' {
        $native = Get-ChildItem -LiteralPath (Join-Path $ModuleRoot 'lib/runtimes') -Recurse -File |
            Where-Object Name -Match '^(lib)?e_sqlite3\.(so|dylib|dll)$'
        $native | Should -Not -BeNullOrEmpty
    }
}

Describe 'ReadyToRun code in the module (precompiled for the building machine)' {
    BeforeAll {
        function Test-ReadyToRun([string] $Path) {
            # A ReadyToRun image points its CLR header's ManagedNativeHeader at the ReadyToRun header; an
            # IL-only assembly leaves that directory empty. The IL stays in both (CodeSize of the methods).
            $stream = [IO.File]::OpenRead($Path)
            try {
                $pe = [Reflection.PortableExecutable.PEReader]::new($stream)
                $pe.HasMetadata | Should -BeTrue -Because "$Path is a managed assembly"
                return $pe.PEHeaders.CorHeader.ManagedNativeHeaderDirectory.Size -gt 0
            } finally { $stream.Dispose() }
        }
        # The folder the engine's context takes precompiled images from on this machine (ReadyToRunImages).
        $os = if ($IsWindows) { 'win' } elseif ($IsMacOS) { 'osx' } else { 'linux' }
        $arch = [Runtime.InteropServices.RuntimeInformation]::ProcessArchitecture.ToString().ToLowerInvariant()
        $script:Precompiled = Join-Path $ModuleRoot "lib/readytorun/$os-$arch-net$([Environment]::Version.Major)"
    }

    It 'precompiles the engine and its packages into the folder of this machine''s runtime' {
        foreach ($file in 'DataraxCkpt.Engine.dll', 'Microsoft.Data.Sqlite.dll', 'SQLitePCLRaw.core.dll', 'K4os.Compression.LZ4.dll', 'System.IO.Hashing.dll') {
            Test-ReadyToRun (Join-Path $Precompiled $file) | Should -BeTrue -Because "$file should carry ReadyToRun code"
        }
    }

    It 'keeps every assembly pwsh or another machine loads platform-neutral: a ReadyToRun image of another OS or architecture does not load at all' {
        # A runtime refuses a ReadyToRun image compiled for another OS or architecture (BadImageFormatException),
        # so the module root and lib/ (what pwsh, and the engine on another machine, load) stay IL-only.
        $loaded = Get-ChildItem -LiteralPath $ModuleRoot -Recurse -File -Filter '*.dll' |
            Where-Object { -not $_.FullName.StartsWith((Join-Path $ModuleRoot 'lib/readytorun')) -and $_.FullName -notmatch '[\\/]native[\\/]' }
        $loaded.Count | Should -BeGreaterThan 30
        foreach ($file in $loaded) {
            Test-ReadyToRun $file.FullName | Should -BeFalse -Because "$($file.FullName) is loaded on every OS and architecture"
        }
    }

    It 'leaves out of the precompiled folder a package whose assembly differs per runtime (ProtectedData has a Windows build)' {
        Join-Path $Precompiled 'System.Security.Cryptography.ProtectedData.dll' | Should -Not -Exist
    }

    It 'loads the engine''s precompiled images in a fresh pwsh' {
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ a = 1 } | Save-Checkpoint -LiteralPath `$dir -Step 1
'a=' + (Restore-Checkpoint -LiteralPath `$dir).a
Remove-Item -LiteralPath `$dir -Recurse -Force
foreach (`$a in [AppDomain]::CurrentDomain.GetAssemblies()) { if (`$a.GetName().Name -in 'DataraxCkpt.Engine', 'K4os.Compression.LZ4') { 'at ' + `$a.Location } }
"@
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Contain 'a=1'
        $result.Output | Should -Contain ('at ' + (Join-Path $Precompiled 'DataraxCkpt.Engine.dll'))
    }

    It 'keeps the portable layout: a RID-neutral deps.json and native SQLite for every supported runtime under lib/runtimes' {
        $deps = Get-Content -Raw -LiteralPath (Join-Path $ModuleRoot 'lib/DataraxCkpt.Engine.deps.json') | ConvertFrom-Json -AsHashtable
        $deps.runtimeTarget.name | Should -Be '.NETCoreApp,Version=v8.0'
        @($deps.targets.Keys) | Should -Be @('.NETCoreApp,Version=v8.0')
        Get-ChildItem -LiteralPath (Join-Path $ModuleRoot 'lib') -File | Where-Object Name -Match '^(lib)?e_sqlite3\.(so|dylib|dll)$' |
            Should -BeNullOrEmpty -Because 'a RID-specific publish would flatten the native library into lib/'
        foreach ($native in 'win-x64/native/e_sqlite3.dll', 'linux-x64/native/libe_sqlite3.so', 'linux-arm64/native/libe_sqlite3.so', 'osx-arm64/native/libe_sqlite3.dylib') {
            Join-Path $ModuleRoot "lib/runtimes/$native" | Should -Exist
        }
    }
}

Describe 'Which copy of a framework assembly the engine takes' {
    BeforeAll {
        $type = (Get-Command Save-Checkpoint).ImplementingType.Assembly.GetType('DataraxCkpt.Commands.Hosting.FrameworkAssemblies', $true)
        $prefers = $type.GetMethod('Prefers', [Reflection.BindingFlags] 'Static, NonPublic, Public')
        function Test-Prefers($Framework, $FrameworkFile, $Requested, $ShippedFile) {
            $prefers.Invoke($null, @([version] $Framework, [version] $FrameworkFile, [version] $Requested, [version] $ShippedFile))
        }
    }

    It 'keeps the shipped copy of a later servicing release than the framework''s, though both have the same assembly version' {
        # System.Text.Json 8.0.4 (CVE-2024-30105) is 8.0.0.0 like the .NET 8.0.0 framework's unfixed copy.
        Test-Prefers '8.0.0.0' '8.0.23.53103' '8.0.0.0' '8.0.424.16909' | Should -BeFalse
        Test-Prefers '10.0.0.0' '10.0.25.52411' '10.0.0.0' '10.0.926.27113' | Should -BeFalse
    }

    It 'takes the framework''s copy when it is at least the shipped servicing release and the referenced version' {
        Test-Prefers '10.0.0.0' '10.0.1226.42308' '10.0.0.0' '10.0.926.27113' | Should -BeTrue
        Test-Prefers '10.0.0.0' '10.0.926.27113' '10.0.0.0' '10.0.926.27113' | Should -BeTrue
        Test-Prefers '10.0.0.0' '10.0.1226.42308' '8.0.0.0' $null | Should -BeTrue -Because 'a reference the module ships no copy of is the framework''s to serve'
    }

    It 'keeps the shipped copy when the framework''s is older than the reference (pwsh 7.4 on .NET 8) or its file version is unknown' {
        Test-Prefers '8.0.0.0' '8.0.1125.51716' '10.0.0.0' '10.0.926.27113' | Should -BeFalse
        Test-Prefers '10.0.0.0' $null '10.0.0.0' '10.0.926.27113' | Should -BeFalse
    }
}

Describe 'Importing in a fresh pwsh' {
    It 'saves and restores with the native SQLite library found' {
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ a = 1 } | Save-Checkpoint -LiteralPath `$dir -Step 3
`$r = Restore-Checkpoint -LiteralPath `$dir
Remove-Item -LiteralPath `$dir -Recurse -Force
'restored a=' + `$r.a
"@
        $result.Output -join "`n" | Should -Match 'restored a=1'
        $result.ExitCode | Should -Be 0
    }

    It 'loads the engine and SQLite into the private load context, not the default one' {
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ a = 1 } | Save-Checkpoint -LiteralPath `$dir
Remove-Item -LiteralPath `$dir -Recurse -Force
foreach (`$name in 'DataraxCkpt.Engine', 'Microsoft.Data.Sqlite') {
    `$asm = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq `$name } | Select-Object -First 1
    `$name + '=' + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$asm).Name
}
"@
        $result.Output | Should -Contain 'DataraxCkpt.Engine=DataraxCkpt.Engine'
        $result.Output | Should -Contain 'Microsoft.Data.Sqlite=DataraxCkpt.Engine'
        $result.ExitCode | Should -Be 0
    }

    It 'takes System.Text.Json from the framework when the framework''s copy is at least the one the module ships, and its own copy otherwise' {
        $shippedPath = Join-Path (Split-Path -Parent $ModuleManifest) 'lib/System.Text.Json.dll'
        $shipped = [Reflection.AssemblyName]::GetAssemblyName($shippedPath).Version
        $shippedFile = [version] (Get-Item -LiteralPath $shippedPath).VersionInfo.FileVersion
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ a = 1; b = @{ c = 'x' } } | Save-Checkpoint -LiteralPath `$dir -Step 1
'c=' + (Restore-Checkpoint -LiteralPath `$dir).b.c
Remove-Item -LiteralPath `$dir -Recurse -Force
'framework=' + [System.Text.Json.JsonDocument].Assembly.GetName().Version
'frameworkfile=' + (Get-Item -LiteralPath ([System.Text.Json.JsonDocument].Assembly.Location)).VersionInfo.FileVersion
foreach (`$c in [System.Runtime.Loader.AssemblyLoadContext]::All) {
    foreach (`$a in `$c.Assemblies) { if (`$a.GetName().Name -eq 'System.Text.Json') { 'json in ' + `$c.Name } }
}
"@
        $result.ExitCode | Should -Be 0
        $result.Output | Should -Contain 'c=x'
        $framework = [version](($result.Output | Where-Object { $_ -like 'framework=*' }) -replace '^framework=')
        $frameworkFile = [version](($result.Output | Where-Object { $_ -like 'frameworkfile=*' }) -replace '^frameworkfile=')
        $contexts = @($result.Output | Where-Object { $_ -like 'json in *' })
        if ($framework -ge $shipped -and $frameworkFile -ge $shippedFile) {
            # The precompiled framework copy, once: the engine's JSON code is not JIT-compiled a second time.
            $contexts | Should -Be @('json in Default')
        }
        else {
            # pwsh 7.4 on .NET 8, or a framework of an earlier servicing release: the engine needs the newer
            # copy it ships, in its own context.
            $contexts | Should -Contain 'json in DataraxCkpt.Engine'
        }
    }

    It 'works where another version of Microsoft.Data.Sqlite was loaded first' {
        $other = Join-Path $ToolPackages 'microsoft.data.sqlite.core/8.0.30/lib/net8.0/Microsoft.Data.Sqlite.dll'
        $other | Should -Exist
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
`$first = [Reflection.Assembly]::LoadFrom('$other')
'first=' + `$first.GetName().Version
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ w = [float[]](1, 2, 3) } | Save-Checkpoint -LiteralPath `$dir -Step 1
'steps=' + ((Get-CheckpointStep -LiteralPath `$dir) -join ',')
'w=' + ((Restore-Checkpoint -LiteralPath `$dir).w -join ',')
Remove-Item -LiteralPath `$dir -Recurse -Force
"@
        $result.Output | Should -Contain 'first=8.0.30.0'
        $result.Output | Should -Contain 'steps=1'
        $result.Output | Should -Contain 'w=1,2,3'
        $result.ExitCode | Should -Be 0
    }

    It 'works under -NonInteractive with HOME unset and fails the script when a cmdlet fails under Stop' {
        $result = Invoke-FreshPwsh -Environment @{ HOME = $null } -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
'imported ' + (Get-Module DataraxCkpt).Name
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ w = [float[]] (1.5, 2.5); note = 'home unset' } | Save-Checkpoint -LiteralPath `$dir -Step 7
`$back = Restore-Checkpoint -LiteralPath `$dir -Step 7
'restored ' + (`$back.w -join ',') + ' ' + `$back.note
Remove-Item -LiteralPath `$dir -Recurse -Force
try { Restore-Checkpoint -LiteralPath (Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))) }
catch { 'error ' + `$_.FullyQualifiedErrorId; throw }
'not reached'
"@
        $result.Output | Should -Contain 'imported DataraxCkpt'
        $result.Output | Should -Contain 'restored 1.5,2.5 home unset'
        @($result.Output | Where-Object { $_ -like 'error *' }) | Should -Be @('error DirectoryNotFound,DataraxCkpt.Commands.RestoreCheckpointCommand')
        $result.Output | Should -Not -Contain 'not reached'
        $result.ExitCode | Should -Not -Be 0
    }
}

Describe 'Cmdlet conventions' {
    BeforeAll {
        $commands = Get-Command -Module DataraxCkpt
    }

    It 'uses approved verbs only' {
        $approved = (Get-Verb).Verb
        foreach ($command in $commands) { $approved | Should -Contain $command.Verb -Because $command.Name }
    }

    It 'declares OutputType on every cmdlet' {
        foreach ($command in $commands) { $command.OutputType | Should -Not -BeNullOrEmpty -Because $command.Name }
    }

    It 'supports ShouldProcess on every cmdlet that changes or deletes' {
        foreach ($name in 'Save-Checkpoint', 'Remove-Checkpoint', 'Lock-Checkpoint', 'Unlock-Checkpoint', 'Repair-CheckpointIndex') {
            (Get-Command $name).Parameters.Keys | Should -Contain 'WhatIf' -Because $name
        }
    }

    It 'never prompts in unattended runs: no cmdlet confirms at High impact' {
        foreach ($command in $commands) {
            $attribute = $command.ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
            $attribute.ConfirmImpact | Should -Not -Be 'High' -Because $command.Name
        }
        $removeAttribute = (Get-Command Remove-Checkpoint).ImplementingType.GetCustomAttributes([System.Management.Automation.CmdletAttribute], $false)[0]
        $removeAttribute.ConfirmImpact | Should -Be 'Medium'
    }

    It 'binds -LiteralPath from PSPath and Directory, and never from Path' {
        foreach ($name in $ExpectedCmdlets | Where-Object { $_ -notin 'Save-Checkpoint', 'New-PrngKey' }) {
            $parameter = (Get-Command $name).Parameters['LiteralPath']
            $parameter.Aliases | Should -Contain 'PSPath'
            $parameter.Aliases | Should -Contain 'Directory'
            ($parameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipelineByPropertyName | Should -Contain $true
            $pathParameter = (Get-Command $name).Parameters['Path']
            ($pathParameter.Attributes | Where-Object { $_ -is [System.Management.Automation.ParameterAttribute] }).ValueFromPipelineByPropertyName | Should -Not -Contain $true
        }
    }
}
