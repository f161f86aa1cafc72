namespace DataraxCkpt.Tests.Reliability;

/// <summary>Copies a pristine checkpoint directory so each corruption or hostile case starts from the same bytes.</summary>
public static class StoreCopy
{
    public static void Copy(string from, string to)
    {
        Directory.CreateDirectory(to);
        foreach (var file in Directory.GetFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in Directory.GetDirectories(from))
        {
            Copy(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}
