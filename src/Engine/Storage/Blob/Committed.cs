using Azure;
using DataraxCkpt.Format;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// A commit record as listed: the index row its metadata carries, the record's version (ETag), its data blob's
/// length, whether the step's metadata JSON travels inline, and the step format it names.
/// </summary>
internal sealed record Committed(StepRow Row, ETag ETag, long DataLength, bool MetadataInline, long Format = StepFormat.Version);
