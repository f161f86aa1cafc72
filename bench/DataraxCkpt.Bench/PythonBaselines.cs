using System.Diagnostics;
using System.Text.Json;

namespace DataraxCkpt.Bench;

/// <summary>
/// numpy and torch baselines in one long-lived /usr/bin/python3 process (baselines.py), driven line by
/// line so that its runs alternate with the engine's in the same warm conditions. Python times each
/// operation itself, so interpreter start-up and data loading are never counted.
/// </summary>
internal sealed class PythonBaselines : IDisposable
{
    private const string Python = "/usr/bin/python3";
    private readonly Process? _process;

    private PythonBaselines(Process? process, string? numpy, string? torch, string? problem)
    {
        _process = process;
        NumpyVersion = numpy;
        TorchVersion = torch;
        Problem = problem;
    }

    public string? NumpyVersion { get; }

    public string? TorchVersion { get; }

    /// <summary>Why the baselines are unavailable, when they are.</summary>
    public string? Problem { get; }

    /// <summary>Set by <c>--engine-only</c>: profile runs skip every baseline.</summary>
    public static bool Disabled { get; set; }

    public static PythonBaselines Start()
    {
        if (Disabled)
        {
            return new PythonBaselines(null, null, null, "baselines disabled (--engine-only)");
        }

        var script = Path.Combine(AppContext.BaseDirectory, "baselines.py");
        if (!File.Exists(Python))
        {
            return new PythonBaselines(null, null, null, $"{Python} is not installed");
        }

        var process = Process.Start(new ProcessStartInfo(Python, ["-u", script])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        }) ?? throw new InvalidOperationException("could not start python3");
        using var hello = JsonDocument.Parse(process.StandardOutput.ReadLine() ?? "{}");
        var numpy = Text(hello.RootElement, "numpy");
        var torch = Text(hello.RootElement, "torch");
        return new PythonBaselines(process, numpy, torch, numpy is null ? "numpy does not import in /usr/bin/python3" : null);
    }

    /// <summary>Sends one command; returns the timed figures, or null when the operation is unavailable.</summary>
    public Sample? Call(string op, params (string Key, object Value)[] arguments)
    {
        if (_process is null)
        {
            return null;
        }

        var command = new Dictionary<string, object> { ["op"] = op };
        foreach (var (key, value) in arguments)
        {
            command[key] = value;
        }

        _process.StandardInput.WriteLine(JsonSerializer.Serialize(command));
        _process.StandardInput.Flush();
        var line = _process.StandardOutput.ReadLine() ?? throw new InvalidOperationException("python baseline process ended");
        using var reply = JsonDocument.Parse(line);
        if (reply.RootElement.TryGetProperty("error", out var error))
        {
            throw new InvalidOperationException($"python baseline '{op}' failed: {error.GetString()}");
        }

        return reply.RootElement.TryGetProperty("seconds", out var seconds)
            ? new Sample(seconds.GetDouble(), reply.RootElement.GetProperty("peakGrowth").GetInt64())
            : null;
    }

    public void Dispose()
    {
        if (_process is null)
        {
            return;
        }

        try
        {
            _process.StandardInput.Close();
            if (!_process.WaitForExit(10_000))
            {
                _process.Kill();
            }
        }
        finally
        {
            _process.Dispose();
        }
    }

    private static string? Text(JsonElement e, string name) =>
        e.TryGetProperty(name, out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
}
