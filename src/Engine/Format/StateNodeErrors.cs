using System.Text.Json;

namespace DataraxCkpt.Format;

/// <summary>
/// The error of a state node that is not valid JSON, made in one place: the open finds the node's end by its
/// brackets alone (<see cref="ManifestCodec.StateExtent(System.ReadOnlySpan{byte}, int)"/>), so its JSON is checked by whichever reader comes
/// first (the decoder's reader, the document of <see cref="StepManifest.State"/>, or the open itself where no
/// reader would run). Each must refuse it the same way: one exception type, one message, the tokenizer's
/// exception kept inside.
/// </summary>
internal static class StateNodeErrors
{
    /// <summary>The start of the message, for tests and callers that recognise the error.</summary>
    public const string NotJsonPrefix = "the state node is not valid JSON";

    /// <summary>The state node failed the JSON tokenizer with <paramref name="e"/>.</summary>
    public static InvalidDataException NotJson(JsonException e) => new($"{NotJsonPrefix} ({e.Message})", e);
}
