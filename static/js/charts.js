// Draws every chart panel (<figure data-panel>) with uPlot, vendored under static/vendor/uplot
// (no CDN): stacked bars per bucket, one colour per series, times in the hub's time zone and
// labels in the page's language. The radio buttons pick the measure and the breakdown; the
// table under the chart (server-rendered, one per variant) follows the same choice.
(function () {
  "use strict";
  const PALETTE = ["#3355cc", "#e0892b", "#1a7f4b", "#c0262d", "#7b3fb3", "#0f8b8d", "#b5487a", "#8a6d3b"];
  const OTHER = "#a3abb8";
  const HEIGHT = 280;
  const lang = document.documentElement.lang || "en";

  function numberFormat(unit, compact) {
    const options = unit === "usd"
      ? { style: "currency", currency: "USD", maximumFractionDigits: compact ? 1 : 4 }
      : { maximumFractionDigits: compact ? 1 : 0 };
    if (compact) options.notation = "compact";
    const format = new Intl.NumberFormat(lang, options);
    return (value) => (value == null ? "—" : format.format(value));
  }

  function timeFormats(zone, bucket) {
    const tick = new Intl.DateTimeFormat(lang, bucket === "hour"
      ? { timeZone: zone, hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
      : { timeZone: zone, month: "2-digit", day: "2-digit" });
    const full = new Intl.DateTimeFormat(lang, bucket === "hour"
      ? { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23" }
      : { timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", weekday: "short" });
    return { tick: (ts) => tick.format(new Date(ts * 1000)), full: (ts) => full.format(new Date(ts * 1000)) };
  }

  // uPlot draws series in order and each bar from zero: drawing the running totals from the
  // tallest down leaves every series visible as its own segment of the stack.
  function stacked(variant, x, zone, bucket) {
    const count = variant.series.length;
    const sums = [];
    let running = x.map(() => 0);
    variant.series.forEach((s) => {
      running = running.map((total, i) => total + (s.values[i] || 0));
      sums.push(running);
    });
    const fmt = numberFormat(variant.unit, false);
    const times = timeFormats(zone, bucket);
    const series = [{ value: (u, ts) => (ts == null ? "" : times.full(ts)) }];
    const data = [x];
    const step = x.length > 1 ? x[1] - x[0] : 3600;
    const bars = uPlot.paths.bars({ size: [0.8, 48], align: 0 });
    for (let k = count - 1; k >= 0; k--) {
      const s = variant.series[k];
      const color = s.color == null ? OTHER : PALETTE[s.color % PALETTE.length];
      series.push({
        label: s.label, stroke: color, fill: color, width: 0, paths: bars, points: { show: false },
        value: (u, v, si, di) => (di == null ? "" : fmt(s.values[di])),
      });
      data.push(sums[k]);
    }
    return { series, data, step };
  }

  function draw(figure) {
    const holder = figure.querySelector(".chart");
    const empty = figure.querySelector(".chart-empty");
    const source = document.getElementById(holder.dataset.chart);
    if (!holder || !source || typeof uPlot === "undefined") return;
    const panel = JSON.parse(source.textContent);
    let plot = null;

    function choice(kind) {
      const checked = figure.querySelector(`input[name="${figure.dataset.panel}-${kind}"]:checked`);
      return checked ? checked.value : null;
    }

    function current() {
      const ids = Object.keys(panel.variants);
      const metric = choice("metric");
      const breakdown = choice("breakdown");
      return ids.find((id) => (!metric || id.startsWith(metric + "-")) && (!breakdown || id.endsWith("-" + breakdown))) || ids[0];
    }

    function render() {
      const id = current();
      const variant = panel.variants[id];
      figure.querySelectorAll("[data-variant]").forEach((table) => { table.hidden = table.dataset.variant !== id; });
      if (plot) { plot.destroy(); plot = null; }
      holder.textContent = "";
      const hasData = variant.series.some((s) => s.values.some((v) => v));
      holder.hidden = !hasData;
      if (empty) empty.hidden = hasData;
      if (!hasData) return;
      const built = stacked(variant, panel.x, panel.zone, panel.bucket);
      const compact = numberFormat(variant.unit, true);
      const times = timeFormats(panel.zone, panel.bucket);
      const first = panel.x[0];
      const last = panel.x[panel.x.length - 1];
      plot = new uPlot({
        width: holder.clientWidth || 800,
        height: HEIGHT,
        series: built.series,
        tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), panel.zone),
        scales: { x: { time: true, range: () => [first - built.step / 2, last + built.step / 2] } },
        axes: [
          { values: (u, splits) => splits.map((ts) => times.tick(ts)) },
          { size: 64, values: (u, splits) => splits.map((v) => compact(v)) },
        ],
        legend: { live: true },
        cursor: { points: { show: false } },
      }, built.data, holder);
    }

    figure.querySelectorAll("input[type=radio]").forEach((input) => input.addEventListener("change", render));
    let width = holder.clientWidth;
    window.addEventListener("resize", () => {
      if (plot && holder.clientWidth !== width) {
        width = holder.clientWidth;
        plot.setSize({ width, height: HEIGHT });
      }
    });
    render();
  }

  document.querySelectorAll("figure[data-panel]").forEach(draw);
})();
