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

    public BlobStepSink(BlobContainerClient container, string folder, BlobSettings settings, CancellationToken cancellationToken)
    {
        _container = container;
        _folder = folder;
        _settings = settings;
        _cancellationToken = cancellationToken;
    }

    public Stream CreateFile(string name, int bufferSize) =>
        new NamedUpload(name, new BlockUploadStream(_container.GetBlockBlobClient(_folder + name), _settings, _cancellationToken));

    public void Seal(Stream file)
    {
        var upload = (NamedUpload)file;
        upload.Inner.Flush();
        _lengths[upload.Name] = upload.Inner.Length;
    }

    public void SyncFolder()
    {
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
