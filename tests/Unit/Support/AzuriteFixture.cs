using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using DataraxCkpt.Storage.Blob;

namespace DataraxCkpt.Tests.Support;

/// <summary>
/// A real Azurite blob service for the object-store tests: the one build.ps1 started (its connection string
/// in <c>DATARAXCKPT_TEST_AZURITE</c>), or one this fixture starts from tools/azurite on a free loopback port
/// with a temporary location and stops at the end. A missing Azurite fails the tests with a clear message;
/// nothing is skipped. The connection string is put in <c>AZURE_STORAGE_CONNECTION_STRING</c> of this test
/// process, so the handler and child processes (the crash harness) find it as users' code would.
/// </summary>
public sealed class AzuriteFixture : IDisposable
{
    /// <summary>Environment variable: a connection string of an Azurite that build.ps1 started.</summary>
    public const string ExternalVariable = "DATARAXCKPT_TEST_AZURITE";

    private const string Key = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

    private readonly TempDirectory _data = new();
    private Process? _azurite;
    private int _port;

    public AzuriteFixture()
        : this(Environment.GetEnvironmentVariable(ExternalVariable), shared: true)
    {
    }

    private AzuriteFixture(string? external, bool shared)
    {
        CacheDirectory = _data.Sub("cache");
        if (shared)
        {
            Environment.SetEnvironmentVariable(BlobIndexCache.CacheDirectoryVariable, CacheDirectory);
        }

        if (!string.IsNullOrWhiteSpace(external))
        {
            ConnectionString = external;
            OwnsAzurite = false;
        }
        else
        {
            _port = FreePort();
            Start();
            ConnectionString = $"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={Key};BlobEndpoint=http://127.0.0.1:{_port}/devstoreaccount1;";
            OwnsAzurite = true;
        }

        if (shared)
        {
            Environment.SetEnvironmentVariable(BlobLocation.ConnectionStringVariable, ConnectionString);
        }
    }

    /// <summary>
    /// An Azurite of the caller's own, always started by this fixture (even when build.ps1's is set), so a test
    /// may stop and restart it; the process environment is left to the shared one. Reach it by its
    /// <see cref="BlobEndpoint"/> URL: the development account's key is the same for every Azurite.
    /// </summary>
    public static AzuriteFixture StartPrivate() => new(external: null, shared: false);

    public string ConnectionString { get; }

    /// <summary>The local index cache folder of these tests (<c>DATARAXCKPT_CACHE_DIR</c>).</summary>
    public string CacheDirectory { get; }

    /// <summary>False when build.ps1's Azurite is used: then this fixture cannot stop and restart it.</summary>
    public bool OwnsAzurite { get; }

    /// <summary>The blob endpoint, e.g. http://127.0.0.1:port/devstoreaccount1.</summary>
    public string BlobEndpoint => ConnectionString.Split(';').First(p => p.StartsWith("BlobEndpoint=", StringComparison.OrdinalIgnoreCase))["BlobEndpoint=".Length..].TrimEnd('/');

    /// <summary>A location in a container no other test uses.</summary>
    public static string NewLocation(string prefix = "run") => $"az://t{Guid.NewGuid():N}"[..30] + "/" + prefix;

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "build.ps1")) && Directory.Exists(Path.Combine(dir.FullName, "build", "azurite")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException($"Cannot find the repository (build.ps1, build/azurite) above {AppContext.BaseDirectory} to start Azurite.");
    }

    private static string AzuriteBlob()
    {
        var root = RepositoryRoot();
        var tools = Path.Combine(root, "tools", "azurite");
        var bin = Path.Combine(tools, "node_modules", ".bin", "azurite-blob");
        if (File.Exists(bin))
        {
            return bin;
        }

        // Installed as build.ps1 installs it: npm ci of the pinned package.json + lock.
        Directory.CreateDirectory(tools);
        foreach (var file in new[] { "package.json", "package-lock.json" })
        {
            File.Copy(Path.Combine(root, "build", "azurite", file), Path.Combine(tools, file), overwrite: true);
        }

        var psi = new ProcessStartInfo("npm") { WorkingDirectory = tools, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add("ci");
        psi.ArgumentList.Add("--no-audit");
        psi.ArgumentList.Add("--no-fund");
        try
        {
            using var npm = Process.Start(psi)!;
            var output = npm.StandardOutput.ReadToEndAsync();
            var errors = npm.StandardError.ReadToEndAsync();
            npm.WaitForExit();
            if (npm.ExitCode != 0 || !File.Exists(bin))
            {
                throw new InvalidOperationException($"Azurite is not installed and 'npm ci' in {tools} failed ({npm.ExitCode}): {output.Result}{errors.Result}");
            }
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            throw new InvalidOperationException($"Azurite is not installed ({bin} is missing) and npm cannot be run to install it: {e.Message}. Install Node.js 20 and run 'npm ci' in build/azurite, or set {ExternalVariable}.", e);
        }

        return bin;
    }

    /// <summary>Starts this fixture's Azurite (again, on the same port and data after <see cref="Stop"/>).</summary>
    public void Start()
    {
        var psi = new ProcessStartInfo(AzuriteBlob()) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var a in new[] { "--blobHost", "127.0.0.1", "--blobPort", _port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--location", _data.Sub("azurite"), "--skipApiVersionCheck", "--loose", "--silent", "--disableTelemetry" })
        {
            psi.ArgumentList.Add(a);
        }

        _azurite = Process.Start(psi) ?? throw new InvalidOperationException("Azurite did not start.");
        _azurite.OutputDataReceived += (_, _) => { };
        _azurite.ErrorDataReceived += (_, _) => { };
        _azurite.BeginOutputReadLine();
        _azurite.BeginErrorReadLine();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            if (_azurite.HasExited)
            {
                throw new InvalidOperationException($"Azurite exited at start with code {_azurite.ExitCode} (port {_port}).");
            }

            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, _port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }

        throw new InvalidOperationException($"Azurite did not listen on 127.0.0.1:{_port} within 60 s.");
    }

    /// <summary>
    /// Stops this fixture's Azurite (the restart test) as an operator would (SIGTERM, so it saves its
    /// metadata; a SIGKILL loses the emulator's recent writes, which a real service never does); its data
    /// stays for <see cref="Start"/>.
    /// </summary>
    public void Stop()
    {
        if (_azurite is { } p)
        {
            if (!p.HasExited && !OperatingSystem.IsWindows())
            {
                using var term = Process.Start("kill", ["-s", "TERM", p.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]);
                term.WaitForExit();
                p.WaitForExit(15_000);
            }

            if (!p.HasExited)
            {
                p.Kill(entireProcessTree: true);
                p.WaitForExit();
            }

            p.Dispose();
            _azurite = null;
        }
    }

    public void Dispose()
    {
        Stop();
        _data.Dispose();
    }
}

/// <summary>The object-store tests share one Azurite.</summary>
[CollectionDefinition(Name)]
public sealed class AzuriteCollection : ICollectionFixture<AzuriteFixture>
{
    public const string Name = "Azurite";
}
