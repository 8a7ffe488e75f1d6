// brand_dashboard.js — the brand's 数据看板: draws every chart of the page with the vendored ECharts. Each chart
// div names the <script type="application/json"> block that holds its data (web/dashboard_charts.py): a kind
// (line or bar), labels and series whose values are fen, basis points or counts, scaled here for display (fen and
// basis points ÷ 100: ¥ and %). No inline script (the CSP): the data is read, never run. The tooltip is drawn on
// the canvas (richText), since ECharts' HTML tooltip carries inline styles the CSP refuses.
(function () {
  "use strict";

  var UNITS = {
    fen: { scale: 100, value: function (v) { return "¥" + v.toFixed(2); }, axis: function (v) { return "¥" + v; } },
    bp: {
      scale: 100, max: 100, value: function (v) { return v.toFixed(2) + "%"; }, axis: function (v) { return v + "%"; }
    },
    count: { scale: 1, value: String, axis: String }
  };
  var COLOURS = ["#e4572e", "#2e86ab", "#76b041", "#f0a202", "#8e6c8a"];

  function scaled(values, unit) {
    return values.map(function (v) { return v === null ? null : v / unit.scale; });
  }

  function optionOf(spec) {
    var unit = UNITS[spec.series[0].unit];
    var categories = { type: "category", data: spec.labels, inverse: spec.horizontal };
    var values = { type: "value", min: 0, max: unit.max, axisLabel: { formatter: unit.axis } };
    return {
      animation: false,
      color: COLOURS,
      grid: { left: 8, right: 24, top: 32, bottom: 8, containLabel: true },
      legend: { show: spec.series.length > 1, top: 0 },  // above the plot (grid.top), clear of the axis labels
      tooltip: {
        trigger: "axis", renderMode: "richText",
        valueFormatter: function (v) { return v === null || v === undefined ? "—" : unit.value(v); }
      },
      xAxis: spec.horizontal ? values : categories,
      yAxis: spec.horizontal ? categories : values,
      series: spec.series.map(function (series) {
        return {
          name: series.name, type: spec.kind, data: scaled(series.values, UNITS[series.unit]),
          connectNulls: false, showSymbol: spec.labels.length <= 31, barMaxWidth: 36
        };
      })
    };
  }

  function draw(element) {
    var spec = JSON.parse(document.getElementById(element.dataset.chart).textContent);
    if (spec.horizontal) {  // a bar per row: one leader or twenty, each bar keeps its height
      element.style.height = Math.max(160, 60 + 28 * spec.labels.length) + "px";
    }
    var chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(optionOf(spec));
    element.dataset.drawn = "true";
    return chart;
  }

  function start() {
    if (!window.echarts) {
      return;  // the tables beneath the charts still say everything
    }
    var charts = Array.prototype.map.call(document.querySelectorAll("[data-chart]"), draw);
    window.addEventListener("resize", function () {
      charts.forEach(function (chart) { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", start);
})();
