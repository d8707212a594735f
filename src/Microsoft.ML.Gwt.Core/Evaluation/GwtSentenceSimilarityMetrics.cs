using Microsoft.ML.Data;
using Microsoft.ML.Gwt.Core.Scoring;

namespace Microsoft.ML.Gwt.Core.Evaluation;

/// <summary>
/// What STS (semantic textual similarity) benchmarks report for a sentence-similarity model: the Pearson and Spearman
/// correlations of the predicted scores with the gold scores, besides the mean squared and absolute errors
/// (<c>mlContext.Regression.Evaluate</c> gives those and R², not the correlations). Rows whose label or score is NaN are
/// left out, as ML.NET's regression evaluator leaves them out.
/// </summary>
/// <param name="PearsonCorrelation">Pearson's r of scores and labels; NaN when either is constant.</param>
/// <param name="SpearmanCorrelation">Spearman's ρ: Pearson's r of their ranks, ties sharing their average rank; NaN when
/// either is constant.</param>
/// <param name="MeanSquaredError">Mean of (score − label)².</param>
/// <param name="MeanAbsoluteError">Mean of |score − label|.</param>
/// <param name="Rows">Rows counted.</param>
public sealed record GwtSentenceSimilarityMetrics(double PearsonCorrelation, double SpearmanCorrelation, double MeanSquaredError,
    double MeanAbsoluteError, long Rows)
{
    /// <summary>The metrics of <paramref name="scores"/> against <paramref name="labels"/> (pairs with a NaN left out).</summary>
    /// <exception cref="ArgumentException">The lists have different lengths, or no pair is left.</exception>
    public static GwtSentenceSimilarityMetrics Compute(IReadOnlyList<float> labels, IReadOnlyList<float> scores)
    {
        ArgumentNullException.ThrowIfNull(labels);
        ArgumentNullException.ThrowIfNull(scores);
        if (labels.Count != scores.Count)
        {
            throw new ArgumentException($"{nameof(scores)} has {scores.Count} values but {nameof(labels)} has {labels.Count}.", nameof(scores));
        }
        var x = new List<double>(labels.Count);
        var y = new List<double>(labels.Count);
        for (int i = 0; i < labels.Count; i++)
        {
            if (!float.IsNaN(labels[i]) && !float.IsNaN(scores[i]))
            {
                x.Add(labels[i]);
                y.Add(scores[i]);
            }
        }
        if (x.Count == 0)
        {
            throw new ArgumentException("No row has both a label and a score (all are NaN or there are none).", nameof(labels));
        }
        double squared = 0, absolute = 0;
        for (int i = 0; i < x.Count; i++)
        {
            double d = y[i] - x[i];
            squared += d * d;
            absolute += Math.Abs(d);
        }
        return new GwtSentenceSimilarityMetrics(Pearson(x, y), Spearman(x, y), squared / x.Count, absolute / x.Count, x.Count);
    }

    /// <summary>Pearson's r of two equally long series (two-pass, in double); NaN when either is constant or they have
    /// fewer than two values.</summary>
    /// <exception cref="ArgumentException">The series have different lengths.</exception>
    public static double Pearson(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"{nameof(y)} has {y.Count} values but {nameof(x)} has {x.Count}.", nameof(y));
        }
        int n = x.Count;
        if (n < 2)
        {
            return double.NaN;
        }
        double mx = 0, my = 0;
        for (int i = 0; i < n; i++)
        {
            mx += x[i];
            my += y[i];
        }
        mx /= n;
        my /= n;
        double sxy = 0, sxx = 0, syy = 0;
        for (int i = 0; i < n; i++)
        {
            double dx = x[i] - mx, dy = y[i] - my;
            sxy += dx * dy;
            sxx += dx * dx;
            syy += dy * dy;
        }
        if (sxx == 0 || syy == 0)
        {
            return double.NaN;
        }
        return Math.Clamp(sxy / Math.Sqrt(sxx * syy), -1, 1);
    }

    /// <summary>Spearman's ρ: Pearson's r of the ranks (1-based; tied values share the average of their ranks, as
    /// <c>scipy.stats.spearmanr</c> ranks them).</summary>
    /// <exception cref="ArgumentException">The series have different lengths.</exception>
    public static double Spearman(IReadOnlyList<double> x, IReadOnlyList<double> y)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(y);
        if (x.Count != y.Count)
        {
            throw new ArgumentException($"{nameof(y)} has {y.Count} values but {nameof(x)} has {x.Count}.", nameof(y));
        }
        return Pearson(Ranks(x), Ranks(y));
    }

    /// <summary>1-based ranks with ties given their average rank.</summary>
    public static double[] Ranks(IReadOnlyList<double> values)
    {
        ArgumentNullException.ThrowIfNull(values);
        var order = Enumerable.Range(0, values.Count).OrderBy(i => values[i]).ToArray();
        var ranks = new double[values.Count];
        for (int start = 0; start < order.Length;)
        {
            int end = start + 1;
            while (end < order.Length && values[order[end]] == values[order[start]])
            {
                end++;
            }
            double average = (start + 1 + end) / 2.0; // ranks start+1 .. end
            for (int k = start; k < end; k++)
            {
                ranks[order[k]] = average;
            }
            start = end;
        }
        return ranks;
    }

    /// <summary>Reads a float label column and a float score column of <paramref name="data"/> and computes the metrics.</summary>
    /// <exception cref="ArgumentOutOfRangeException">A column is missing or not a <c>Single</c> scalar; the message names it.</exception>
    public static GwtSentenceSimilarityMetrics Evaluate(IDataView data, string labelColumnName = "Label", string scoreColumnName = "Score")
    {
        ArgumentNullException.ThrowIfNull(data);
        var label = TextColumns.CheckFloatLabel(data.Schema, labelColumnName);
        var score = TextColumns.Find(data.Schema, scoreColumnName, "score");
        if (score.Type != NumberDataViewType.Single)
        {
            throw new ArgumentOutOfRangeException(scoreColumnName, $"Schema mismatch for score column '{scoreColumnName}': expected Single, got {score.Type}.");
        }
        var labels = new List<float>();
        var scores = new List<float>();
        using var cursor = data.GetRowCursor(new[] { label, score });
        var gl = cursor.GetGetter<float>(label);
        var gs = cursor.GetGetter<float>(score);
        float l = 0, s = 0;
        while (cursor.MoveNext())
        {
            gl(ref l);
            gs(ref s);
            labels.Add(l);
            scores.Add(s);
        }
        return Compute(labels, scores);
    }
}
