using System.Buffers;
using Azure.Storage.Blobs;
using Azure.Storage.Blobs.Specialized;
using DataraxCkpt.Format;

namespace DataraxCkpt.Storage.Blob;

/// <summary>The writer's sink for a remote save: each file is a new block blob under the save's own folder.</summary>
internal sealed class BlobStepSink : IStepSink
{
    private readonly BlobContainerClient _container;
    private readonly string _folder;
    private readonly BlobSettings _settings;
    private readonly CancellationToken _cancellationToken;
    private readonly Dictionary<string, long> _lengths = new(StringComparer.Ordinal);
    private readonly List<Task> _pending = [];

    public BlobStepSink(BlobContainerClient container, string folder, BlobSettings settings, CancellationToken cancellationToken)
    {
        _container = container;
        _folder = folder;
        _settings = settings;
        _cancellationToken = cancellationToken;
    }

    public Stream CreateFile(string name, int bufferSize) =>
        new NamedUpload(name, new BlockUploadStream(_container.GetBlockBlobClient(_folder + name), _settings, _cancellationToken));

    /// <summary>The writer's frame buffer becomes part of the upload's blocks: no copy into a block buffer.</summary>
    public void WriteRented(Stream file, byte[] buffer, int length, ArrayPool<byte> pool) =>
        ((NamedUpload)file).Inner.WriteRented(buffer, length, pool);

    /// <summary>
    /// Starts the file's commit and returns: the data blob's last blocks and block list go up while the writer
    /// uploads the manifest. <see cref="SyncFolder"/> waits for every commit, so nothing is committed on a
    /// blob that is not there yet.
    /// </summary>
    public void Seal(Stream file)
    {
        var upload = (NamedUpload)file;
        _pending.Add(upload.Inner.CommitAsync());
        _lengths[upload.Name] = upload.Inner.Length;
    }

    /// <summary>Waits for every file's commit; the first failure is thrown as it came.</summary>
    public void SyncFolder()
    {
        var pending = _pending.ToArray();
        _pending.Clear();
        Task.WhenAll(pending).GetAwaiter().GetResult();
    }

    /// <summary>After a failed write: waits for commits still running (ignoring their failures), so a cleanup after it sees their blobs.</summary>
    public void WaitForCommits()
    {
        try
        {
            SyncFolder();
        }
        catch (Exception)
        {
            // The write already failed and its failure is on its way to the caller; this commit's failure, of
            // whatever type (a credential's, the SDK's own), must neither replace it nor stop the cleanup after it.
        }
    }

    /// <summary>The length of a sealed file.</summary>
    public long LengthOf(string name) => _lengths[name];

    /// <summary>A blob upload that remembers its file name, for <see cref="Seal"/>.</summary>
    private sealed class NamedUpload : Stream
    {
        public NamedUpload(string name, BlockUploadStream inner)
        {
            Name = name;
            Inner = inner;
        }

        public string Name { get; }

        public BlockUploadStream Inner { get; }

        public override bool CanRead => false;

        public override bool CanSeek => false;

        public override bool CanWrite => Inner.CanWrite;

        public override long Length => Inner.Length;

        public override long Position
        {
            get => Inner.Position;
            set => throw new NotSupportedException();
        }

        public override void Flush()
        {
            // Only Seal commits: a flush from a buffered writer must not create the blob early.
        }

        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => Inner.Write(buffer, offset, count);

        public override void Write(ReadOnlySpan<byte> buffer) => Inner.Write(buffer);

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                Inner.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
