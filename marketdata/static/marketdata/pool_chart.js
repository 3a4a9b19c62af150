// The pool page's chart: candles, volume bars, buy/sell markers and open gaps shaded.
// Data comes from the admin's chart-data view; the library is vendored (no CDN).
(function () {
  "use strict";
  const LC = window.LightweightCharts;
  const root = document.getElementById("pool-chart");
  if (!LC || !root) return;
  const url = root.dataset.url;
  const status = document.getElementById("pool-chart-status");
  const tfSelect = document.getElementById("pool-chart-timeframe");
  const nInput = document.getElementById("pool-chart-n");
  const LABELS = 3;

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
  const candles = chart.addSeries(LC.CandlestickSeries, {
    upColor: "#26a69a", downColor: "#ef5350", borderVisible: false,
    wickUpColor: "#26a69a", wickDownColor: "#ef5350",
  });
  const volume = chart.addSeries(LC.HistogramSeries, {
    priceScaleId: "volume", priceFormat: { type: "volume" }, lastValueVisible: false,
    priceLineVisible: false,
  });
  chart.priceScale("volume").applyOptions({ scaleMargins: { top: 0.8, bottom: 0 } });
  const markers = LC.createSeriesMarkers(candles, []);

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

  function gapBars(gaps, step) {
    const bars = [];
    for (const gap of gaps) {
      for (let t = gap.start - (gap.start % step); t < gap.end; t += step) {
        bars.push({ time: t, value: 1 });
      }
    }
    return bars;
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
    // Every (bar, side) with trades gets an arrow; only the largest are labelled, so the
    // labels stay readable where trades cluster.
    const labelled = new Set(
      [...data.trades].sort((a, b) => b.volume_usd - a.volume_usd).slice(0, LABELS)
    );
    markers.setMarkers(data.trades.map((m) => ({
      time: m.time,
      position: m.side === "buy" ? "belowBar" : "aboveBar",
      color: m.side === "buy" ? "#2e7d32" : "#c62828",
      shape: m.side === "buy" ? "arrowUp" : "arrowDown",
      text: labelled.has(m) ? m.trades + " " + m.side + (m.trades > 1 ? "s " : " ") + usd(m.volume_usd) : "",
    })));
    chart.timeScale().fitContent();
    root.dataset.candles = String(ohlc.length);
    status.textContent = ohlc.length
      ? `${ohlc.length} candles, ${data.trades.length} trade markers, ${data.gaps.length} open gaps`
      : "no candles in this timeframe yet";
  }

  tfSelect.addEventListener("change", load);
  nInput.addEventListener("change", load);
  load();
})();
