using Microsoft.ML.Gwt.Training;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Trainers;

/// <summary>A text table training reads: the <see cref="IDataView"/>, its columns, and what the scan found (row count,
/// hash, and the rows themselves when small enough to cache).</summary>
internal sealed class TextTable
{
    private readonly IDataView _data;
    private readonly string _label;
    private readonly string _first;
    private readonly string? _second;

    public TextTable(IDataView data, string label, string first, string? second, TextDataScan scan)
    {
        _data = data;
        _label = label;
        _first = first;
        _second = second;
        Scan = scan;
    }

    /// <summary>The scan's findings.</summary>
    public TextDataScan Scan { get; }

    /// <summary>Whether an epoch reads the source's shuffling cursor: streamed data larger than the shuffle pool whose
    /// source can shuffle.</summary>
    public bool UsesSourceShuffling(int shuffleBufferSize) => Scan.Cache is null && Scan.Rows > shuffleBufferSize && _data.CanShuffle;

    /// <summary>The labelled rows of one pass: the cached rows, or a new cursor over the source (a shuffling one seeded by
    /// <paramref name="shuffle"/> when given and the source can shuffle).</summary>
    public IEnumerable<TextExample> Rows(Random? shuffle = null) =>
        Scan.Cache ?? (Scan.RowCountReported ? AllLabelled(shuffle)
            : TextColumns.Stream(_data, _label, _first, _second, skipMissingLabels: true, shuffle: shuffle));

    /// <summary>The rows of data whose reported row count was taken as its labelled rows: a row with a missing label
    /// would leave the epoch short of the batches the learning-rate schedule planned, so it stops training.</summary>
    private IEnumerable<TextExample> AllLabelled(Random? shuffle)
    {
        long row = 0;
        foreach (var example in TextColumns.Stream(_data, _label, _first, _second, skipMissingLabels: false, shuffle: shuffle))
        {
            if (example.Label < 0)
            {
                throw new ArgumentException(
                    $"Row {row} of the training data (in the order it was read) has a missing value in label column '{_label}' (a value the key mapping did not know). Fit took the " +
                    $"{Scan.Rows} rows the data reports as its training rows, without a pass to count them; remove rows with a missing label first " +
                    $"(mlContext.Data.FilterRowsByMissingValues(data, \"{_label}\")), and Fit counts the rest.", "input");
            }
            row++;
            yield return example;
        }
    }
}
