namespace Microsoft.ML.Gwt.Training;

/// <summary>
/// What a training run's result depends on, as named fields (its data's hash and every option that changes the weights).
/// A checkpoint resumes only a run whose fingerprint agrees field by field; otherwise the differing fields are named.
/// </summary>
internal sealed class TrainingFingerprint
{
    /// <summary>A fingerprint of the given fields.</summary>
    public TrainingFingerprint(IReadOnlyDictionary<string, string> fields) =>
        Fields = new SortedDictionary<string, string>(fields.ToDictionary(kv => kv.Key, kv => kv.Value), StringComparer.Ordinal);

    /// <summary>Field name to value.</summary>
    public IReadOnlyDictionary<string, string> Fields { get; }

    /// <summary>Restores a fingerprint read from a checkpoint manifest.</summary>
    public static TrainingFingerprint FromFields(IReadOnlyDictionary<string, string> fields) => new(fields);

    /// <summary>The fields whose values differ (or exist on one side only), each as "Name (checkpoint: a; now: b)".</summary>
    public IReadOnlyList<string> Differences(TrainingFingerprint saved) =>
        Fields.Keys.Union(saved.Fields.Keys).Order(StringComparer.Ordinal)
            .Where(k => !Fields.TryGetValue(k, out var now) || !saved.Fields.TryGetValue(k, out var then) || now != then)
            .Select(k => $"{k} (checkpoint: {saved.Fields.GetValueOrDefault(k, "absent")}; now: {Fields.GetValueOrDefault(k, "absent")})")
            .ToList();
}
