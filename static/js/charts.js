// Draws every <div class="chart" data-chart="ID"> from the JSON in <script id="ID">, with uPlot
// (vendored under static/vendor/uplot: no CDN). The table under each chart holds the same numbers.
(function () {
  const palette = ["#3355cc", "#1a7f4b", "#b26a00", "#c0262d", "#7b3fb3", "#0f8b8d", "#8a6d3b", "#5c6b7a"];
  function draw(holder) {
    const data = JSON.parse(document.getElementById(holder.dataset.chart).textContent);
    if (!data.x.length) return;
    const series = [{}].concat(data.series.map((s, i) => ({
      label: s.label, stroke: palette[i % palette.length], width: 2, spanGaps: false,
      value: (u, v) => (v == null ? "—" : v.toLocaleString()),
    })));
    const opts = {
      width: holder.clientWidth || 800, height: 260, series: series,
      axes: [{}, { size: 70, values: (u, vals) => vals.map((v) => v.toLocaleString()) }],
      scales: { x: { time: true } }, legend: { live: true },
    };
    holder.textContent = "";
    const plot = new uPlot(opts, [data.x].concat(data.series.map((s) => s.values)), holder);
    window.addEventListener("resize", () => plot.setSize({ width: holder.clientWidth, height: 260 }));
  }
  document.querySelectorAll("div.chart[data-chart]").forEach(draw);
})();
