namespace Microsoft.ML.Gwt.Tests.Optim;

/// <summary>
/// An independent scalar reference of GWT-Adam and AdamW over double arrays, written from the method's description
/// (literal multi-level Haar transform with zero padding, moments on the approximation, details divided by the
/// repeated denominator, Fira's norm-growth limiter, inverse transform). It shares no code with the library.
/// </summary>
internal sealed class ReferenceGwtAdam
{
    private readonly int _rows, _cols, _level, _axis;
    private readonly double _lr, _b1, _b2, _eps, _wd, _alpha, _growth;
    private readonly bool _limiter;
    private double[] _m = Array.Empty<double>(), _v = Array.Empty<double>();
    private double _prevNorm;
    private int _t;

    public ReferenceGwtAdam(int rows, int cols, int level, int axis, double lr, double b1 = 0.9, double b2 = 0.999,
        double eps = 1e-8, double wd = 0, double alpha = 1.0, bool limiter = true, double growth = 1.01)
    {
        (_rows, _cols, _level, _axis, _lr, _b1, _b2, _eps, _wd, _alpha, _limiter, _growth) =
            (rows, cols, level, axis, lr, b1, b2, eps, wd, alpha, limiter, growth);
    }

    public static (double[] A, List<double[]> Details) Dwt(double[] x, int levels)
    {
        var a = x;
        var details = new List<double[]>();
        for (int l = 0; l < levels; l++)
        {
            int half = (a.Length + 1) / 2;
            var na = new double[half];
            var nd = new double[half];
            for (int k = 0; k < half; k++)
            {
                double x0 = a[2 * k];
                double x1 = 2 * k + 1 < a.Length ? a[2 * k + 1] : 0.0;
                na[k] = (x0 + x1) / Math.Sqrt(2);
                nd[k] = (x0 - x1) / Math.Sqrt(2);
            }
            details.Insert(0, nd);
            a = na;
        }
        return (a, details);
    }

    public static double[] Idwt(double[] a, List<double[]> detailsCoarsestFirst, int length)
    {
        var cur = a;
        for (int i = 0; i < detailsCoarsestFirst.Count; i++)
        {
            var d = detailsCoarsestFirst[i];
            var next = new double[2 * d.Length];
            for (int k = 0; k < d.Length; k++)
            {
                next[2 * k] = (cur[k] + d[k]) / Math.Sqrt(2);
                next[2 * k + 1] = (cur[k] - d[k]) / Math.Sqrt(2);
            }
            int target = i + 1 < detailsCoarsestFirst.Count ? detailsCoarsestFirst[i + 1].Length : length;
            cur = next.Take(target).ToArray();
        }
        return cur;
    }

    /// <summary>One step on a row-major [rows, cols] parameter with gradient g.</summary>
    public void Step(double[] p, double[] g)
    {
        _t++;
        double bc1 = 1 - Math.Pow(_b1, _t), bc2 = 1 - Math.Pow(_b2, _t);
        for (int i = 0; i < p.Length; i++)
        {
            p[i] *= 1 - _lr * _wd;
        }
        if (_level == 0)
        {
            if (_m.Length == 0) { _m = new double[p.Length]; _v = new double[p.Length]; }
            for (int i = 0; i < p.Length; i++)
            {
                _m[i] = _b1 * _m[i] + (1 - _b1) * g[i];
                _v[i] = _b2 * _v[i] + (1 - _b2) * g[i] * g[i];
                p[i] -= _lr / bc1 * _m[i] / (Math.Sqrt(_v[i]) / Math.Sqrt(bc2) + _eps);
            }
            return;
        }

        int lines = _axis == 1 ? _rows : _cols, len = _axis == 1 ? _cols : _rows;
        double Get(double[] arr, int line, int i) => _axis == 1 ? arr[line * _cols + i] : arr[i * _cols + line];
        var approxLines = new double[lines][];
        var detailLines = new List<double[]>[lines];
        var denLines = new double[lines][];
        int alen = -1;
        double sumSq = 0;
        for (int line = 0; line < lines; line++)
        {
            var x = new double[len];
            for (int i = 0; i < len; i++) x[i] = Get(g, line, i);
            var (a, d) = Dwt(x, _level);
            if (_m.Length == 0) { alen = a.Length; _m = new double[lines * alen]; _v = new double[lines * alen]; }
            alen = a.Length;
            var na = new double[alen];
            var den = new double[alen];
            for (int k = 0; k < alen; k++)
            {
                int s = line * alen + k;
                _m[s] = _b1 * _m[s] + (1 - _b1) * a[k];
                _v[s] = _b2 * _v[s] + (1 - _b2) * a[k] * a[k];
                den[k] = Math.Sqrt(_v[s] / bc2) + _eps;
                na[k] = _m[s] / bc1 / den[k];
                sumSq += na[k] * na[k];
            }
            // Details: coarsest as is, each finer band repeats the denominator twice as often.
            for (int j = 0; j < d.Count; j++)
            {
                int rep = 1 << j;
                for (int k = 0; k < d[j].Length; k++) d[j][k] /= den[k / rep];
            }
            approxLines[line] = na;
            detailLines[line] = d;
            denLines[line] = den;
        }
        double norm = Math.Sqrt(sumSq), scale = 1;
        if (_limiter)
        {
            if (_t > 1 && _prevNorm > 0 && norm / _prevNorm > _growth) scale = 1 / (norm / _prevNorm / _growth);
            _prevNorm = norm * scale;
        }
        for (int line = 0; line < lines; line++)
        {
            var u = Idwt(approxLines[line], detailLines[line], len);
            for (int i = 0; i < len; i++)
            {
                int at = _axis == 1 ? line * _cols + i : i * _cols + line;
                p[at] -= _lr * _alpha * scale * u[i];
            }
        }
    }

    public int StateFloats => _m.Length + _v.Length;
}
