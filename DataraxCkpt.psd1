@{
  RootModule           = 'DataraxCkpt.Cmdlets.dll'
  ModuleVersion        = '0.1.0'
  GUID                 = '353f0510-5ed0-4a98-b144-906639477858'
  Author               = 'DataraxCkpt contributors'
  CompanyName          = 'DataraxCkpt'
  Copyright            = '(c) DataraxCkpt contributors. All rights reserved.'
  Description          = 'Checkpoints for training and data-pipeline state: save, restore, list and prune steps of LZ4 tensor data indexed in SQLite (a .NET port of Datarax/Orbax checkpointing).'
  PowerShellVersion    = '7.4'
  CompatiblePSEditions = @('Core')
  FormatsToProcess     = @('DataraxCkpt.format.ps1xml')
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
  )
  FunctionsToExport    = @()
  AliasesToExport      = @()
  VariablesToExport    = @()
  PrivateData          = @{
    PSData = @{
      Tags = @('checkpoint', 'machine-learning', 'jax', 'orbax', 'sqlite', 'lz4')
    }
  }
}
