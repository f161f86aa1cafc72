# Tensors stored with the planes filter (docs/format.md §2.2) through the module: bf16-like weights (which the
# writer packs) round-trip bit for bit, and restore bit for bit into an existing array.

BeforeAll {
    . (Join-Path $PSScriptRoot 'TestSupport.ps1')
    Import-Module $ModuleManifest -Force

    function New-Bf16Like([int] $Count, [int] $Seed) {
        $rng = [System.Random]::new($Seed)
        $values = [float[]]::new($Count)
        for ($i = 0; $i -lt $Count; $i++) {
            $normal = [math]::Sqrt(-2 * [math]::Log(1 - $rng.NextDouble())) * [math]::Cos(2 * [math]::PI * $rng.NextDouble())
            $bits = [System.BitConverter]::SingleToInt32Bits([float] $normal) -band 0xFFFF0000
            $values[$i] = [System.BitConverter]::Int32BitsToSingle([int] $bits)
        }
        , $values
    }

    function Get-Bits([float[]] $Values) {
        [byte[]] $bytes = [byte[]]::new($Values.Length * 4)
        [System.Buffer]::BlockCopy($Values, 0, $bytes, 0, $bytes.Length)
        [System.Convert]::ToHexString([System.Security.Cryptography.SHA256]::HashData($bytes))
    }
}

AfterAll {
    Remove-Module DataraxCkpt -ErrorAction Ignore
}

Describe 'Packed byte planes through the module' {
    BeforeAll {
        $script:weights = New-Bf16Like -Count 300001 -Seed 5
        $script:dir = Join-Path $TestDrive 'planes'
        Save-Checkpoint -LiteralPath $dir -InputObject @{ w = $weights } -Step 1 -ErrorAction Stop
    }

    It 'restores bf16-like weights bit for bit' {
        $r = Restore-Checkpoint -LiteralPath $dir -ErrorAction Stop
        Get-Bits $r.w | Should -Be (Get-Bits $weights)
    }

    It 'restores them into an existing array' {
        $target = [float[]]::new($weights.Length)
        Restore-Checkpoint -LiteralPath $dir -Into @{ w = $target } -ErrorAction Stop | Out-Null
        Get-Bits $target | Should -Be (Get-Bits $weights)
    }
}
