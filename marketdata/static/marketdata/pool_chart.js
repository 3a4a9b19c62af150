// The pool page's chart: candles, volume bars, buy/sell markers and open gaps shaded.
// Data comes from the admin's chart-data view; the library is vendored (no CDN).
//
// Volume has a pane of its own under the candles (the bars overlapped them), the price axis
// never runs below zero (a 1d chart of a memecoin that fell 99% showed -0.001), and the trade
// markers carry no text (labels covered candles and the last-price tag): the legend above
// the chart reads the hovered bar, or the last one, with its trades.
(function () {
  "use strict";
  const LC = window.LightweightCharts;
  const root = document.getElementById("pool-chart");
  if (!LC || !root) return;
  const url = root.dataset.url;
  const status = document.getElementById("pool-chart-status");
  const legend = document.getElementById("pool-chart-legend");
  const tfSelect = document.getElementById("pool-chart-timeframe");
  const nInput = document.getElementById("pool-chart-n");
  const PAD = 0.08; // of the price range, above and below it: room for the markers

  const chart = LC.createChart(root, {
    height: 420,
    layout: { background: { color: "#ffffff" }, textColor: "#333" },
    timeScale: { timeVisible: true, secondsVisible: false },
    localization: { timeFormatter: (t) => new Date(t * 1000).toISOString().slice(0, 16).replace("T", " ") + " UTC" },
  });
  const gapSeries = chart.addSeries(LC.HistogramSeries, {
    priceScaleId: "gaps", color: "rgba(220, 53, 69, 0.15)", lastValueVisible: false,
    priceLineVisible: false,
  });
  chart.priceScale("gaps").applyOptions({ scaleMargins: { top: 0, bottom: 0 }, visible: false });

  // The candles' range padded here, not by the scale's margins or the markers' pixels, so
  // that its bottom can stop at zero.
  function nonNegative(original) {
    const info = original();
    if (!info || !info.priceRange) return info;
    const { minValue, maxValue } = info.priceRange;
    const span = maxValue - minValue || Math.abs(maxValue) * 0.1 || 1e-9;
    return {
      priceRange: { minValue: Math.max(0, minValue - span * PAD), maxValue: maxValue + span * PAD },
      margins: { above: 0, below: 0 },
    };
  }
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false,
    wickUpColor: "#26a69a", wickDownColor: "#ef5350", autoscaleInfoProvider: nonNegative,
  });
  chart.priceScale("right").applyOptions({ scaleMargins: { top: 0, bottom: 0 } });
  const volume = chart.addSeries(LC.HistogramSeries, {
    priceFormat: { type: "volume" }, lastValueVisible: false, priceLineVisible: false,
  }, 1);
  chart.panes()[0].setStretchFactor(4);
  chart.panes()[1].setStretchFactor(1);
  volume.priceScale().applyOptions({ scaleMargins: { top: 0.1, bottom: 0 } });
  const markers = LC.createSeriesMarkers(candles, []);
  root.poolChart = { chart, candles, volume, markers }; // for tests/test_admin_browser.py

  let bars = new Map(); // time -> {candle, buy, sell}

  function usd(v) {
    if (v >= 1e6) return "$" + (v / 1e6).toFixed(1) + "M";
    if (v >= 1e3) return "$" + (v / 1e3).toFixed(1) + "K";
    return "$" + v.toFixed(0);
  }

  // Memecoin prices run from 1e-9 to 1e4: show about five significant digits of the lowest.
  function priceFormat(ohlc) {
    const lows = ohlc.map((c) => c.low).filter((v) => v > 0);
    const lowest = lows.length ? Math.min(...lows) : 1;
    const precision = Math.max(2, Math.min(14, 4 - Math.floor(Math.log10(lowest))));
    return { type: "price", precision: precision, minMove: Math.pow(10, -precision) };
  }

  function price(v) {
    return Number(v.toPrecision(5)).toString();
  }

  function gapBars(gaps, step) {
    const bars = [];
    for (const gap of gaps) {
      for (let t = gap.start - (gap.start % step); t < gap.end; t += step) {
        bars.push({ time: t, value: 1 });
      }
    }
    return bars;
  }

  function trades(m, arrow) {
    return m ? ` · ${arrow} ${m.trades} ${m.side}${m.trades > 1 ? "s" : ""} ${usd(m.volume_usd)}` : "";
  }

  // The bar under the cursor (the last bar otherwise): time, OHLC, volume and its trades.
  function showBar(time) {
    const bar = bars.get(time);
    if (!bar) {
      legend.textContent = "";
      return;
    }
    const c = bar.candle;
    legend.textContent =
      `${chart.options().localization.timeFormatter(c.time)} · O ${price(c.open)} H ${price(c.high)} ` +
      `L ${price(c.low)} C ${price(c.close)} · vol ${usd(c.volume)}` +
      trades(bar.buy, "▲") + trades(bar.sell, "▼");
  }

  async function load() {
    const params = new URLSearchParams({ timeframe: tfSelect.value, n: nInput.value });
    status.textContent = "loading…";
    const response = await fetch(url + "?" + params, { credentials: "same-origin" });
    if (!response.ok) {
      status.textContent = "could not load the chart: HTTP " + response.status;
      return;
    }
    const data = await response.json();
    const ohlc = data.candles.map((c) => ({ time: c.time, open: c.open, high: c.high, low: c.low, close: c.close }));
    candles.applyOptions({ priceFormat: priceFormat(ohlc) });
    candles.setData(ohlc);
    volume.setData(data.candles.map((c) => ({
      time: c.time, value: c.volume,
      color: c.close >= c.open ? "rgba(38, 166, 154, 0.5)" : "rgba(239, 83, 80, 0.5)",
    })));
    gapSeries.setData(gapBars(data.gaps, data.gap_step || data.step)
      .sort((a, b) => a.time - b.time)
      .filter((b, i, all) => i === 0 || all[i - 1].time !== b.time));
    bars = new Map(data.candles.map((c) => [c.time, { candle: c }]));
    for (const m of data.trades) {
      const bar = bars.get(m.time);
      if (bar) bar[m.side] = m;
    }
    markers.setMarkers(data.trades.map((m) => ({
      time: m.time,
      position: m.side === "buy" ? "belowBar" : "aboveBar",
      color: m.side === "buy" ? "#2e7d32" : "#c62828",
      shape: m.side === "buy" ? "arrowUp" : "arrowDown",
    })));
    chart.timeScale().fitContent();
    const last = data.candles.length ? data.candles[data.candles.length - 1].time : null;
    showBar(last);
    root.dataset.last = last === null ? "" : String(last);
    root.dataset.candles = String(ohlc.length);
    const archived = (data.archived_months || []).length
      ? `; archived to Parquet, not drawn: ${data.archived_months.join(", ")}`
      : "";
    status.textContent = (ohlc.length
      ? `${ohlc.length} candles, ${data.trades.length} trade markers, ${data.gaps.length} open gaps`
      : "no candles in this timeframe yet") + archived;
  }

  chart.subscribeCrosshairMove((param) => {
    showBar(param.time === undefined ? Number(root.dataset.last) : param.time);
  });
  tfSelect.addEventListener("change", load);
  nInput.addEventListener("change", load);
  load();
})();
