using System.Globalization;
using System.Net;
using System.Text;
using Platform.Dashboard.Telemetry;

namespace Platform.Dashboard.Components;

/// <summary>
/// Server-rendered SVG line chart of one instrument over time: a line per attribute set (value for counters and
/// gauges; p50/p90/p99 per interval for histograms). No chart library, nothing loaded from elsewhere.
/// </summary>
public static class MetricChart
{
    private const int Width = 860, Height = 260, Left = 70, Right = 16, Top = 14, Bottom = 34;
    private const int MaxLines = 12;

    public sealed record Line(string Label, string Color, IReadOnlyList<(DateTime T, double V)> Points);

    public static IReadOnlyList<Line> Lines(InstrumentSnapshot instrument)
    {
        string[] palette = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#db2777", "#65a30d"];
        var lines = new List<Line>();
        foreach (var series in instrument.Series)
        {
            var label = series.Attributes.Count == 0 ? instrument.Name : string.Join(", ", series.Attributes.Select(a => a.Key + "=" + a.Value));
            if (instrument.Kind == InstrumentKind.Histogram)
            {
                foreach (var q in new[] { 0.5, 0.9, 0.99 })
                {
                    var points = new List<(DateTime, double)>();
                    MetricPoint? previous = null;
                    foreach (var p in series.Points)
                    {
                        var counts = HistogramMath.IntervalCounts(previous, p);
                        if (HistogramMath.Quantile(q, p.Bounds ?? [], counts) is { } v) points.Add((p.Time, v));
                        previous = p;
                    }
                    lines.Add(new Line($"p{q * 100:0} {label}", palette[lines.Count % palette.Length], points));
                }
            }
            else
            {
                lines.Add(new Line(label, palette[lines.Count % palette.Length], [.. series.Points.Select(p => (p.Time, p.Value))]));
            }
            if (lines.Count >= MaxLines) break;
        }
        return lines;
    }

    public static string Render(InstrumentSnapshot instrument)
    {
        var lines = Lines(instrument);
        var all = lines.SelectMany(l => l.Points).ToList();
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"<svg id=\"metric-chart\" data-testid=\"metric-chart\" class=\"chart\" viewBox=\"0 0 {Width} {Height}\" role=\"img\" aria-label=\"{Enc(instrument.Name)} over time\">");
        if (all.Count == 0)
        {
            sb.Append(CultureInfo.InvariantCulture, $"<text x=\"{Width / 2}\" y=\"{Height / 2}\" text-anchor=\"middle\" class=\"axis\">no data yet</text></svg>");
            return sb.ToString();
        }
        var t0 = all.Min(p => p.T);
        var t1 = all.Max(p => p.T);
        var span = Math.Max((t1 - t0).TotalMilliseconds, 1);
        var vMin = Math.Min(0, all.Min(p => p.V));
        var vMax = all.Max(p => p.V);
        if (vMax <= vMin) vMax = vMin + 1;
        double X(DateTime t) => Left + (t - t0).TotalMilliseconds / span * (Width - Left - Right);
        double Y(double v) => Top + (1 - (v - vMin) / (vMax - vMin)) * (Height - Top - Bottom);

        for (var i = 0; i <= 4; i++)
        {
            var v = vMin + (vMax - vMin) * i / 4;
            var y = Y(v);
            sb.Append(CultureInfo.InvariantCulture, $"<line class=\"grid\" x1=\"{Left}\" x2=\"{Width - Right}\" y1=\"{y:0.#}\" y2=\"{y:0.#}\"/>");
            sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Left - 6}\" y=\"{y + 4:0.#}\" text-anchor=\"end\">{Enc(Format.Number(v))}</text>");
        }
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Left}\" y=\"{Height - 10}\">{Format.Time(t0)}</text>");
        sb.Append(CultureInfo.InvariantCulture, $"<text class=\"axis\" x=\"{Width - Right}\" y=\"{Height - 10}\" text-anchor=\"end\">{Format.Time(t1)} UTC</text>");
        foreach (var line in lines)
        {
            if (line.Points.Count == 0) continue;
            var coords = string.Join(" ", line.Points.Select(p => string.Create(CultureInfo.InvariantCulture, $"{X(p.T):0.#},{Y(p.V):0.#}")));
            sb.Append(CultureInfo.InvariantCulture, $"<polyline data-testid=\"metric-line\" fill=\"none\" stroke=\"{line.Color}\" stroke-width=\"2\" points=\"{coords}\"><title>{Enc(line.Label)}</title></polyline>");
            if (line.Points.Count == 1)
                sb.Append(CultureInfo.InvariantCulture, $"<circle cx=\"{X(line.Points[0].T):0.#}\" cy=\"{Y(line.Points[0].V):0.#}\" r=\"3\" fill=\"{line.Color}\"/>");
        }
        sb.Append("</svg><div class=\"legend\">");
        foreach (var line in lines)
            sb.Append(CultureInfo.InvariantCulture, $"<span><span class=\"dot\" style=\"background:{line.Color}\"></span>{Enc(line.Label)}</span>");
        sb.Append("</div>");
        return sb.ToString();
    }

    public static string Describe(InstrumentKind kind, MetricPoint p) => kind switch
    {
        InstrumentKind.Histogram or InstrumentKind.ExponentialHistogram or InstrumentKind.Summary =>
            $"count {p.Count}, sum {Format.Number(p.Sum)}, mean {Format.Number(p.Value)}",
        _ => Format.Number(p.Value),
    };

    private static string Enc(string s) => WebUtility.HtmlEncode(s);
}
