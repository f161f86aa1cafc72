using System.Text.Json;
using DataraxCkpt.Values;

namespace DataraxCkpt.Format;

/// <summary>Names and limits of the step format (docs/format.md). Changing any of them is a new version.</summary>
internal static class StepFormat
{
    public const string FormatName = "dataraxckpt-step";
    public const int Version = 1;
    public const string ManifestFile = "manifest.json.lz4";
    public const string DataFile = "tensors.lz4";
    public const string PinnedMarker = "PINNED";
    public const int MaxRank = 32;

    /// <summary>Largest manifest accepted when reading (raw JSON bytes).</summary>
    public const long MaxManifestBytes = 1L << 30;
}

/// <summary>Where one chunk of a tensor lives in the data file.</summary>
/// <param name="Offset">Byte offset of the chunk's LZ4 frame in the data file.</param>
/// <param name="StoredLength">Length of the frame.</param>
/// <param name="RawLength">Bytes the frame decodes to.</param>
/// <param name="Checksum">The frame's content checksum (xxh32 of the bytes it holds), which ties the data file to its manifest.</param>
internal readonly record struct ChunkLayout(long Offset, int StoredLength, int RawLength, uint Checksum);

/// <summary>One tensor of the manifest's tensor table.</summary>
internal sealed class TensorLayout
{
    public required string DType { get; init; }

    public required long[] Shape { get; init; }

    /// <summary>Filter applied to each chunk before compression: <c>none</c> or <c>shuffle</c>.</summary>
    public required string Filter { get; init; }

    public required ChunkLayout[] Chunks { get; init; }

    public long RawLength => Chunks.Sum(c => (long)c.RawLength);

    public long StoredLength => Chunks.Sum(c => (long)c.StoredLength);
}

/// <summary>A parsed, validated step manifest.</summary>
internal sealed class StepManifest : IDisposable
{
    public required long Step { get; init; }

    public required string SaveId { get; init; }

    public required DateTimeOffset CreatedUtc { get; init; }

    public required long Size { get; init; }

    public required long DataLength { get; init; }

    public required IReadOnlyList<TensorLayout> Tensors { get; init; }

    public required IReadOnlyList<StoredItem> Items { get; init; }

    /// <summary>The parsed JSON; <see cref="State"/> and <see cref="Metadata"/> point into it.</summary>
    public required JsonDocument Document { get; init; }

    public required JsonElement State { get; init; }

    public required JsonElement Metadata { get; init; }

    /// <summary>The metadata node as raw JSON, as the index stores it.</summary>
    public string MetadataJson => Metadata.GetRawText();

    public void Dispose() => Document.Dispose();
}
