// Draws every chart panel (<figure data-panel>) with uPlot, vendored under static/vendor/uplot
// (no CDN): stacked bars per bucket, one colour per series, times in the hub's time zone and
// labels in the page's language. The radio buttons pick the measure and the breakdown; the
// table under the chart (server-rendered, one per variant) follows the same choice.
(function () {
  "use strict";
  // Okabe & Ito's colour-blind-safe set (its yellow swapped for a darker gold that shows on
  // white), every colour at least 3:1 against the white card; segments are also parted by a
  // white line, so neighbours never merge even for readers who tell fewer colours apart.
  const PALETTE = ["#0072b2", "#d55e00", "#009e73", "#cc79a7", "#56b4e9", "#e69f00", "#8c6d00", "#332288"];
  const OTHER = "#8a94a6";
  const HEIGHT = 280;
  // Tick steps for counts (requests, tokens): whole numbers only, never "2.5 requests".
  const WHOLE = [];
  for (let power = 1; power <= 1e15; power *= 10) WHOLE.push(power, 2 * power, 5 * power);
  const lang = document.documentElement.lang || "en";

  // Numbers and money as the pages write them in either language: grouped in thousands,
  // dollars with a "$" sign (the server writes "$1,234.56" in English and Chinese alike).
  function numberFormat(unit, compact) {
    if (unit === "percent" || unit === "ms") {
      const plain = new Intl.NumberFormat(lang, { maximumFractionDigits: unit === "percent" ? 1 : 0 });
      const suffix = unit === "percent" ? "%" : " ms";
      return (value) => (value == null ? "—" : plain.format(value) + suffix);
    }
    const options = { maximumFractionDigits: compact ? 1 : unit === "usd" ? 4 : 0 };
    if (compact) options.notation = "compact";
    const format = new Intl.NumberFormat(lang, options);
    return (value) => (value == null ? "—" : (unit === "usd" ? "$" : "") + format.format(value));
  }

  // Dates as the pages write them (ISO: 2026-11-29, 14:00), the weekday in the page's language.
  function timeFormats(zone, bucket) {
    const parts = new Intl.DateTimeFormat("en-CA", {
      timeZone: zone, year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", hourCycle: "h23",
    });
    const weekday = new Intl.DateTimeFormat(lang, { timeZone: zone, weekday: "short" });
    function fields(ts) {
      const found = {};
      parts.formatToParts(new Date(ts * 1000)).forEach((part) => { found[part.type] = part.value; });
      return found;
    }
    function tick(ts) {
      const f = fields(ts);
      // Hours and minutes alike show a time of day; days show a date.
      return bucket !== "day" ? `${f.hour}:${f.minute}` : `${f.month}-${f.day}`;
    }
    function full(ts) {
      const f = fields(ts);
      const day = `${f.year}-${f.month}-${f.day}`;
      return bucket !== "day" ? `${day} ${f.hour}:${f.minute}` : `${day} ${weekday.format(new Date(ts * 1000))}`;
    }
    return { tick, full };
  }

  // uPlot draws series in order, each bar from zero. Series k is drawn as the sum of itself and
  // every series after it, tallest first, so each shows as its own segment: the first series
  // (the largest) on top, as the legend lists it first.
  function stacked(variant, panel) {
    const x = panel.x;
    const count = variant.series.length;
    const sums = new Array(count);
    let running = x.map(() => 0);
    for (let k = count - 1; k >= 0; k--) {
      running = running.map((total, i) => total + (variant.series[k].values[i] || 0));
      sums[k] = running;
    }
    const fmt = numberFormat(variant.unit, false);
    const times = timeFormats(panel.zone, panel.bucket);
    // The legend always shows a value: the bucket under the pointer, else the window's totals.
    const series = [{ label: "", value: (u, ts) => (ts == null ? panel.legend_total_label : times.full(ts)) }];
    const data = [x];
    const step = x.length > 1 ? x[1] - x[0] : 3600;
    const bars = uPlot.paths.bars({ size: [0.8, 48], align: 0 });
    variant.series.forEach((s, k) => {
      const color = s.color == null ? OTHER : PALETTE[s.color % PALETTE.length];
      const total = sum(s.values);
      series.push({
        label: s.label, stroke: "#fff", fill: color, width: 1, paths: bars, points: { show: false },
        value: (u, v, si, di) => fmt(di == null ? total : s.values[di]),
      });
      data.push(sums[k]);
    });
    return { series, data, step };
  }

  // Rates and times do not add up: one line per series, a gap where a bucket had no request.
  function lines(variant, panel) {
    const fmt = numberFormat(variant.unit, false);
    const times = timeFormats(panel.zone, panel.bucket);
    // The time entry shows the bucket under the pointer and no label or colon of its own.
    const series = [{ label: "", value: (u, ts) => (ts == null ? "" : times.full(ts)) }];
    const data = [panel.x];
    variant.series.forEach((s) => {
      const color = s.color == null ? OTHER : PALETTE[s.color % PALETTE.length];
      series.push({ label: s.label, stroke: color, width: 2, spanGaps: false, points: { show: panel.x.length <= 60, size: 4 },
        value: (u, v) => fmt(v) });
      data.push(s.values);
    });
    return { series, data, step: panel.x.length > 1 ? panel.x[1] - panel.x[0] : 60 };
  }

  function cell(tag, text, link, className) {
    const element = document.createElement(tag);
    if (className) element.className = className;
    if (tag === "th" && className !== "num") element.scope = "row";
    if (link) {
      const anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = text;
      element.appendChild(anchor);
    } else {
      element.textContent = text;
    }
    return element;
  }

  // Table figures as the server writes them: counts grouped, dollars with 2 places (4 below $1),
  // no data as a dash, never as 0.
  const grouped = new Intl.NumberFormat(lang, { maximumFractionDigits: 0 });
  const dollars = [2, 4].map((places) => new Intl.NumberFormat(lang, { minimumFractionDigits: places, maximumFractionDigits: places }));
  function tableValue(value, unit) {
    if (value == null) return "—";
    if (unit === "percent") return value.toFixed(1) + "%";
    if (unit === "ms") return grouped.format(Math.round(value)) + " ms";
    if (unit !== "usd") return grouped.format(value);
    return "$" + dollars[Math.abs(value) >= 1 || value === 0 ? 0 : 1].format(value);
  }

  function sum(values) {
    const present = values.filter((v) => v != null);
    return present.length ? present.reduce((a, b) => a + b, 0) : null;
  }

  // The same table the server renders for the first variant, from the JSON (text only: names
  // come from ingested data, so never through innerHTML).
  function buildTable(holder, panel, variant) {
    const table = holder.querySelector("table");
    const unit = variant.unit;
    const additive = unit === "count" || unit === "usd";
    const head = document.createElement("tr");
    const corner = cell("th", panel.x_label);
    corner.scope = "col";
    head.appendChild(corner);
    variant.series.forEach((s) => { const th = cell("th", s.label, s.link, "num"); th.scope = "col"; head.appendChild(th); });
    if (additive) {
      const totalHead = cell("th", panel.total_label, null, "num");
      totalHead.scope = "col";
      head.appendChild(totalHead);
    }
    const body = document.createElement("tbody");
    panel.row_labels.forEach((label, i) => {
      const row = document.createElement("tr");
      row.appendChild(cell("th", label, panel.row_links[i], "nowrap"));
      const column = variant.series.map((s) => s.values[i]);
      column.forEach((value) => row.appendChild(cell("td", tableValue(value, unit), null, "num")));
      if (additive) row.appendChild(cell("td", tableValue(sum(column), unit), null, "num"));
      body.appendChild(row);
    });
    table.tHead.replaceChildren(head);
    table.tBodies[0].replaceWith(body);
    if (!additive) { table.tFoot.replaceChildren(); return; }
    const foot = document.createElement("tr");
    foot.appendChild(cell("th", panel.total_label));
    const totals = variant.series.map((s) => sum(s.values));
    totals.forEach((value) => foot.appendChild(cell("td", tableValue(value, unit), null, "num")));
    foot.appendChild(cell("td", tableValue(sum(totals), unit), null, "num"));
    table.tFoot.replaceChildren(foot);
  }

  // uPlot's legend hides and shows a series on a click; the same with Tab and Enter or Space,
  // and each entry says whether its series is shown.
  function legendByKeyboard(plot) {
    const entries = plot.root.querySelectorAll(".u-legend .u-series");
    entries.forEach((entry, i) => {
      if (i === 0) return;  // the time, not a series
      entry.tabIndex = 0;
      entry.setAttribute("role", "button");
      const state = () => entry.setAttribute("aria-pressed", String(plot.series[i].show));
      state();
      entry.addEventListener("click", () => window.setTimeout(state));
      entry.addEventListener("keydown", (event) => {
        if (event.key !== "Enter" && event.key !== " ") return;
        event.preventDefault();
        plot.setSeries(i, { show: !plot.series[i].show });
        state();
      });
    });
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
      const tableHolder = figure.querySelector("[data-table]");
      if (tableHolder && tableHolder.dataset.variant !== id) {
        buildTable(tableHolder, panel, variant);
        tableHolder.dataset.variant = id;
      }
      if (plot) { plot.destroy(); plot = null; }
      holder.textContent = "";
      const hasData = variant.series.some((s) => s.values.some((v) => v != null && (v || panel.kind === "lines")));
      holder.hidden = !hasData;
      if (empty) empty.hidden = hasData;
      if (!hasData) return;
      const built = panel.kind === "lines" ? lines(variant, panel) : stacked(variant, panel);
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
          { size: variant.unit === "ms" ? 84 : 64, values: (u, splits) => splits.map((v) => compact(v)),
            incrs: variant.unit === "count" ? WHOLE : undefined },
        ],
        legend: { live: true },
        cursor: { points: { show: false } },
      }, built.data, holder);
      // The drawing is one image (its numbers are in the table below); the legend stays operable.
      const drawing = plot.root.querySelector(".u-wrap");
      drawing.setAttribute("role", "img");
      drawing.setAttribute("aria-label", holder.dataset.label || "");
      legendByKeyboard(plot);
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

  function drawAll(root) {
    root.querySelectorAll("figure[data-panel]").forEach(draw);
  }

  // A page that refreshes itself (availability) draws the panels it swapped in.
  window.hubCharts = { drawAll };
  drawAll(document);
})();
