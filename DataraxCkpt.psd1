@{
  RootModule           = 'DataraxCkpt.Cmdlets.dll'
  ModuleVersion        = '0.1.0'
  GUID                 = '353f0510-5ed0-4a98-b144-906639477858'
  Author               = 'DataraxCkpt contributors'
  CompanyName          = 'DataraxCkpt'
  Copyright            = '(c) DataraxCkpt contributors. Licensed under the Apache License, Version 2.0.'
  Description          = 'Checkpoints for training and data-pipeline state: save, restore, list and prune steps of LZ4 tensor data indexed in SQLite (a .NET port of Datarax/Orbax checkpointing).'
  PowerShellVersion    = '7.4'
  CompatiblePSEditions = @('Core')
  # The user-facing types (PrngKey, CheckpointInfo, RetentionPolicy, the exceptions) load in the
  # default context so scripts can name them; the engine and its dependencies stay private (lib/).
  RequiredAssemblies   = @('DataraxCkpt.Types.dll')
  FormatsToProcess     = @('DataraxCkpt.format.ps1xml')
  TypesToProcess       = @('DataraxCkpt.types.ps1xml')
  CmdletsToExport      = @(
    'Save-Checkpoint'
    'Restore-Checkpoint'
    'Get-CheckpointStep'
    'Get-Checkpoint'
    'Remove-Checkpoint'
    'Get-CheckpointItem'
    'Test-Checkpoint'
    'Compare-Checkpoint'
    'Lock-Checkpoint'
    'Unlock-Checkpoint'
    'Repair-CheckpointIndex'
    'New-PrngKey'
    'Copy-Checkpoint'
  )
  FunctionsToExport    = @()
  AliasesToExport      = @()
  VariablesToExport    = @()
  PrivateData          = @{
    PSData = @{
      Tags         = @('checkpoint', 'machine-learning', 'jax', 'orbax', 'sqlite', 'lz4', 'PSEdition_Core', 'Windows', 'Linux', 'MacOS')
      ProjectUri   = 'https://github.com/dataraxckpt/DataraxCkpt'
      LicenseUri   = 'https://github.com/dataraxckpt/DataraxCkpt/blob/main/LICENSE'
      ReleaseNotes = 'First release: Save/Restore/Get/Remove/Test/Compare/Copy-Checkpoint, pins, index repair and JAX-compatible PRNG keys; Ctrl+C stops long work; engine types nameable in scripts ([DataraxCkpt.PrngKey], [DataraxCkpt.StepNotFoundException]).'
    }
  }
}
