package main

import (
	"testing"
)

// BenchmarkTrendDraw measures the browser's part of the call page's trends
// for a patient with 30 days of readings every 15 minutes from four devices:
// drawing the four charts the trends API answers for them (blood pressure
// pairs, pulse, SpO2, temperature; 360 points each, as
// BenchmarkTrends30Days in homekit reads them) into the page, layout
// included. The server's part is BenchmarkTrends30Days. Run:
// go test -run '^$' -bench TrendDraw -benchtime 20x ./cmd/vclinic
func BenchmarkTrendDraw(b *testing.B) {
	requireBrowser(b, "chromium")
	rc := startClinic(b)
	page := chromiumPage(b, rc.base+"/login")
	const setup = `(async () => {
  window.__trend = await import('/static/trend.js');
  const to = Date.parse('2026-06-01T10:00:00Z'), from = to - 30 * 86400000, step = (to - from) / 360;
  const series = (code, base, amp, pair) => ({code, unit: 'x', points: Array.from({length: 360}, (_, i) => {
    const v = base + amp * Math.sin(i / 9);
    return {at: new Date(from + (i + 0.5) * step).toISOString(), value: v, value2: pair ? v - 40 : undefined,
      min: v - 3, max: v + 3, n: 8, source: 'bluetooth'};
  })});
  window.__series = [series('85354-9', 125, 10, true), series('8867-4', 70, 8), series('59408-5', 96, 2), series('8310-5', 36.8, 0.4)];
  window.__range = {from: new Date(from).toISOString(), to: new Date(to).toISOString()};
  return true;
})()`
	evalPage[bool](b, page, "setup", setup)
	const draw = `(() => {
  const t0 = performance.now();
  const box = document.createElement('div');
  for (const s of window.__series) {
    const el = document.createElement('div');
    box.append(el);
    window.__trend.drawTrend(el, s, {name: s.code, from: window.__range.from, to: window.__range.to, days: 30, locale: 'da-DK',
      words: window.__trend.trendWords.da, low: 50, high: 140, width: 200, height: 44});
  }
  document.body.append(box);
  box.getBoundingClientRect(); // layout
  const took = performance.now() - t0;
  box.remove();
  return took;
})()`
	var total float64
	for b.Loop() {
		total += evalPage[float64](b, page, "draw", draw)
	}
	b.ReportMetric(total/float64(b.N), "ms-in-page/op")
}
