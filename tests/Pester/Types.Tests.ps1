# The engine's user-facing types (DataraxCkpt.Types) load in the default context, so scripts can name
# them, while the engine's third-party dependencies stay private. Every case runs in a fresh pwsh.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
}

Describe 'Engine types named in a script' {
    It 'creates a key with [DataraxCkpt.PrngKey]::Create and restores it as the same type' {
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$key = [DataraxCkpt.PrngKey]::Create(42)
'key=' + (`$key.KeyData -join ',')
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ rng = `$key } | Save-Checkpoint -LiteralPath `$dir -Step 1
`$back = (Restore-Checkpoint -LiteralPath `$dir).rng
Remove-Item -LiteralPath `$dir -Recurse -Force
'same type=' + (`$back -is [DataraxCkpt.PrngKey])
'equal=' + `$back.Equals(`$key)
"@
        $result.Output | Should -Contain 'key=0,42'
        $result.Output | Should -Contain 'same type=True'
        $result.Output | Should -Contain 'equal=True'
        $result.ExitCode | Should -Be 0
    }

    It 'matches Get-Checkpoint records with [DataraxCkpt.CheckpointInfo] and builds a [DataraxCkpt.RetentionPolicy]' {
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ a = 1 } | Save-Checkpoint -LiteralPath `$dir -Step 4
'info=' + ((Get-Checkpoint -LiteralPath `$dir) -is [DataraxCkpt.CheckpointInfo])
Remove-Item -LiteralPath `$dir -Recurse -Force
`$policy = [DataraxCkpt.RetentionPolicy]@{ Keep = 3; KeepEvery = 10 }
'policy=' + `$policy.Keep + '/' + `$policy.KeepEvery + '/' + `$policy.KeepsEverything
'types assembly context=' + [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext([DataraxCkpt.CheckpointInfo].Assembly).Name
"@
        $result.Output | Should -Contain 'info=True'
        $result.Output | Should -Contain 'policy=3/10/False'
        $result.Output | Should -Contain 'types assembly context=Default'
        $result.ExitCode | Should -Be 0
    }

    It 'catches a missing step as [DataraxCkpt.StepNotFoundException]' {
        $result = Invoke-FreshPwsh -Script @"
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ a = 1 } | Save-Checkpoint -LiteralPath `$dir -Step 1
try {
    Restore-Checkpoint -LiteralPath `$dir -Step 9 -ErrorAction Stop
    'not caught'
}
catch [DataraxCkpt.StepNotFoundException] {
    'caught step=' + `$_.Exception.Step + ' id=' + `$_.Exception.ErrorId
}
Remove-Item -LiteralPath `$dir -Recurse -Force
"@
        $result.Output | Should -Contain 'caught step=9 id=StepNotFound'
        $result.ExitCode | Should -Be 0
    }

    It 'keeps one copy of DataraxCkpt.Types, in the module root, and none in lib/' {
        Join-Path $ModuleRoot 'DataraxCkpt.Types.dll' | Should -Exist
        Join-Path $ModuleRoot 'lib/DataraxCkpt.Types.dll' | Should -Not -Exist
        Get-Content -Raw (Join-Path $ModuleRoot 'lib/DataraxCkpt.Engine.deps.json') | Should -Not -Match 'DataraxCkpt\.Types'
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ k = [DataraxCkpt.PrngKey]::Create(1) } | Save-Checkpoint -LiteralPath `$dir -Step 1
`$null = Restore-Checkpoint -LiteralPath `$dir
Remove-Item -LiteralPath `$dir -Recurse -Force
'copies=' + @([AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'DataraxCkpt.Types' }).Count
"@
        $result.Output | Should -Contain 'copies=1'
        $result.ExitCode | Should -Be 0
    }

    It 'names the types and still works where another Microsoft.Data.Sqlite was loaded first' {
        $other = Join-Path $ToolPackages 'microsoft.data.sqlite.core/8.0.30/lib/net8.0/Microsoft.Data.Sqlite.dll'
        $other | Should -Exist
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
`$first = [Reflection.Assembly]::LoadFrom('$other')
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
@{ rng = [DataraxCkpt.PrngKey]::Create(3) } | Save-Checkpoint -LiteralPath `$dir -Step 2
'restored=' + ((Restore-Checkpoint -LiteralPath `$dir).rng -is [DataraxCkpt.PrngKey])
'steps=' + ((Get-CheckpointStep -LiteralPath `$dir) -join ',')
Remove-Item -LiteralPath `$dir -Recurse -Force
`$versions = [AppDomain]::CurrentDomain.GetAssemblies() | Where-Object { `$_.GetName().Name -eq 'Microsoft.Data.Sqlite' } |
    ForEach-Object { [System.Runtime.Loader.AssemblyLoadContext]::GetLoadContext(`$_).Name + ':' + `$_.GetName().Version.Major }
'sqlite=' + ((`$versions | Sort-Object) -join ',')
"@
        $result.Output | Should -Contain 'restored=True'
        $result.Output | Should -Contain 'steps=2'
        $result.Output | Should -Contain 'sqlite=DataraxCkpt.Engine:10,Default:8'
        $result.ExitCode | Should -Be 0
    }
}

Describe 'A Tensor<T> saved from C#, restored in pwsh' {
    It 'comes back as a .NET array of its shape that a script can index and save again' {
        $result = Invoke-FreshPwsh -Script @"
`$ErrorActionPreference = 'Stop'
Import-Module '$ModuleManifest'
`$dir = Join-Path ([IO.Path]::GetTempPath()) ([guid]::NewGuid().ToString('N'))
# The C# side: the engine's own handler saves a Tensor<float> of shape 2x3 (built by the engine's
# tensor helper, since System.Numerics.Tensors is private to the module's load context).
@{ a = 0 } | Save-Checkpoint -LiteralPath `$dir -Step 0
`$engine = [System.Runtime.Loader.AssemblyLoadContext]::All.Assemblies | Where-Object { `$_.GetName().Name -eq 'DataraxCkpt.Engine' }
`$interop = `$engine.GetType('DataraxCkpt.Values.TensorInterop', `$true)
`$build = `$interop.GetMethod('Build', [Reflection.BindingFlags]'Public,NonPublic,Static')
`$tensor = `$build.Invoke(`$null, @([float[]](1, 2, 3, 4, 5, 6), [long[]](2, 3), [float]))
'saved=' + `$tensor.GetType().Name
`$handler = [Activator]::CreateInstance(`$engine.GetType('DataraxCkpt.CheckpointHandler', `$true))
`$state = [Collections.Generic.Dictionary[string, object]]::new()
`$state['w'] = `$tensor
`$null = `$handler.Save(`$dir, `$state, [long]1, `$null, `$false, `$null)
`$handler.Dispose()
`$w = (Restore-Checkpoint -LiteralPath `$dir -Step 1).w
'type=' + `$w.GetType().FullName
'shape=' + `$w.GetLength(0) + 'x' + `$w.GetLength(1)
'w[1,2]=' + `$w[1, 2]
@{ w = `$w } | Save-Checkpoint -LiteralPath `$dir -Step 2
`$again = (Restore-Checkpoint -LiteralPath `$dir -Step 2).w
'again=' + `$again.GetType().FullName + ' ' + `$again[1, 0]
Remove-Item -LiteralPath `$dir -Recurse -Force
"@
        $result.Output | Should -Contain 'saved=Tensor`1'
        $result.Output | Should -Contain 'type=System.Single[,]'
        $result.Output | Should -Contain 'shape=2x3'
        $result.Output | Should -Contain 'w[1,2]=6'
        $result.Output | Should -Contain 'again=System.Single[,] 4'
        $result.ExitCode | Should -Be 0
    }
}
