using System.Buffers.Binary;
using System.Text;
using Azure;
using K4os.Hash.xxHash;

namespace DataraxCkpt.Storage.Blob;

/// <summary>
/// The commit records a listing last read with their metadata, keyed by step and kept with each record's
/// ETag, in one file of the store's cache folder (docs/object-store.md, "The local index cache"). A listing
/// then asks the store only for names and ETags, and reads metadata again only for a record whose name is
/// new or whose ETag changed: a record's ETag changes with every write of its content or metadata, so a
/// cached record is used only when it is the very version the store lists. Never trusted otherwise: a file
/// that is missing, truncated, of another version or fails its checksum is read as empty.
/// </summary>
internal sealed class BlobRecordCache
{
    /// <summary>The file's name in the cache folder.</summary>
    public const string FileName = "records.bin";

    private const uint Magic = 0x43525844; // "DXRC"
    private const int Version = 1;
    private const int HeaderLength = 12;
    private const int ChecksumLength = 8;

    /// <summary>The fewest bytes one record takes: six longs, an int, two booleans and a one-byte length for each of four strings.</summary>
    private const int MinRecordLength = (8 * 6) + 4 + 2 + 4;

    public BlobRecordCache(string folder)
    {
        Folder = folder;
    }

    public string Folder { get; }

    public string FilePath => Path.Combine(Folder, FileName);

    /// <summary>The cached records by step; empty when there is no readable file.</summary>
    public Dictionary<long, Committed> Load()
    {
        byte[] bytes;
        try
        {
            bytes = File.ReadAllBytes(FilePath);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return [];
        }

        return Decode(bytes) ?? [];
    }

    /// <summary>Replaces the file with <paramref name="records"/> (written whole to a temporary file, then renamed over).</summary>
    public void Store(IReadOnlyCollection<Committed> records)
    {
        Directory.CreateDirectory(Folder);
        var temporary = Path.Combine(Folder, $"{FileName}.{Guid.NewGuid():N}.tmp");
        try
        {
            File.WriteAllBytes(temporary, Encode(records));
            File.Move(temporary, FilePath, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
    }

    /// <summary>Deletes the file (repair rebuilds it from the next listing).</summary>
    public void Clear() => File.Delete(FilePath);

    internal static byte[] Encode(IReadOnlyCollection<Committed> records)
    {
        using var buffer = new MemoryStream();
        using (var writer = new BinaryWriter(buffer, Encoding.UTF8, leaveOpen: true))
        {
            writer.Write(Magic);
            writer.Write(Version);
            writer.Write(records.Count);
            foreach (var c in records)
            {
                var r = c.Row;
                writer.Write(r.Step);
                writer.Write(c.ETag.ToString());
                writer.Write(c.DataLength);
                writer.Write(c.MetadataInline);
                writer.Write(c.Format);
                writer.Write(r.SaveId);
                writer.Write(r.CreatedUtc.UtcTicks);
                writer.Write(r.Size);
                writer.Write(r.StoredSize);
                writer.Write(r.ItemCount);
                writer.Write(r.MetadataJson);
                writer.Write(r.ManifestHash);
                writer.Write(r.Pinned);
            }
        }

        var length = (int)buffer.Length;
        buffer.Write(new byte[ChecksumLength]);
        var bytes = buffer.ToArray();
        BinaryPrimitives.WriteUInt64LittleEndian(bytes.AsSpan(length), XXH64.DigestOf(bytes.AsSpan(0, length)));
        return bytes;
    }

    /// <summary>The records of a file's bytes, or null when they are not a whole, intact file of this version.</summary>
    internal static Dictionary<long, Committed>? Decode(byte[] bytes)
    {
        if (bytes.Length < HeaderLength + ChecksumLength
            || BinaryPrimitives.ReadUInt32LittleEndian(bytes) != Magic
            || BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(4)) != Version
            || XXH64.DigestOf(bytes.AsSpan(0, bytes.Length - ChecksumLength)) != BinaryPrimitives.ReadUInt64LittleEndian(bytes.AsSpan(bytes.Length - ChecksumLength)))
        {
            return null;
        }

        try
        {
            using var reader = new BinaryReader(new MemoryStream(bytes, HeaderLength, bytes.Length - HeaderLength - ChecksumLength, writable: false), Encoding.UTF8);
            // The count is the file's word, not the bytes': a 20-byte file claiming 2^31 records must not size
            // a dictionary for a million of them (32 MB) before the first record fails to read.
            var count = BinaryPrimitives.ReadInt32LittleEndian(bytes.AsSpan(8));
            if (count < 0 || count > (bytes.Length - HeaderLength - ChecksumLength) / MinRecordLength)
            {
                return null;
            }

            var records = new Dictionary<long, Committed>(count);
            for (var i = 0; i < count; i++)
            {
                var step = reader.ReadInt64();
                var etag = new ETag(reader.ReadString());
                var dataLength = reader.ReadInt64();
                var inline = reader.ReadBoolean();
                var format = reader.ReadInt64();
                var row = new StepRow(step, reader.ReadString(), new DateTimeOffset(reader.ReadInt64(), TimeSpan.Zero), reader.ReadInt64(), reader.ReadInt64(),
                    reader.ReadInt32(), reader.ReadString(), reader.ReadString(), reader.ReadBoolean());
                records[step] = new Committed(row, etag, dataLength, inline, format);
            }

            return reader.BaseStream.Position == reader.BaseStream.Length ? records : null;
        }
        catch (Exception e) when (e is EndOfStreamException or ArgumentException or FormatException or DecoderFallbackException)
        {
            return null;
        }
    }
}
