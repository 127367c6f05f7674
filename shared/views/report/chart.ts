/**
 * The findings-over-time chart as inline SVG: a line of open findings per UTC day with one
 * marker per day, labelled axes and gridlines. No script, no font file: the page's own font
 * stack renders the labels, so the chart works from a `file://` page with no network.
 */
import type { DayPoint } from "./evidence.js";
import { esc } from "./html.js";

const WIDTH = 960;
const HEIGHT = 300;
const PAD = { left: 64, right: 20, top: 20, bottom: 62 };

/** A "nice" upper bound and step for the y axis (whole findings). */
function yScale(max: number): { top: number; step: number } {
  if (max <= 5) return { top: Math.max(max, 1), step: 1 };
  const rough = max / 5;
  const magnitude = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * magnitude).find((s) => s >= rough)!;
  return { top: Math.ceil(max / step) * step, step };
}

export function findingsChart(points: readonly DayPoint[]): string {
  const plotW = WIDTH - PAD.left - PAD.right;
  const plotH = HEIGHT - PAD.top - PAD.bottom;
  const { top, step } = yScale(Math.max(0, ...points.map((p) => p.open)));
  const x = (i: number) => PAD.left + (points.length <= 1 ? plotW / 2 : (i * plotW) / (points.length - 1));
  const y = (v: number) => PAD.top + plotH - (v / top) * plotH;
  const r = (n: number) => Math.round(n * 10) / 10;

  const grid: string[] = [];
  for (let v = 0; v <= top; v += step) {
    grid.push(`<line class="grid" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${r(y(v))}" y2="${r(y(v))}"/>`);
    grid.push(`<text class="tick" x="${PAD.left - 8}" y="${r(y(v)) + 4}" text-anchor="end">${v}</text>`);
  }
  // Label about ten days on the x axis, always the first and the last.
  const every = Math.max(1, Math.ceil(points.length / 10));
  const xLabels = points
    .map((p, i) => (i % every === 0 || i === points.length - 1 ? `<text class="tick" x="${r(x(i))}" y="${HEIGHT - PAD.bottom + 18}" text-anchor="middle">${esc(p.day.slice(5))}</text>` : ""))
    .join("");
  const line = points.map((p, i) => `${r(x(i))},${r(y(p.open))}`).join(" ");
  const markers = points
    .map((p, i) => `<circle class="point" data-day="${esc(p.day)}" data-open="${p.open}" cx="${r(x(i))}" cy="${r(y(p.open))}" r="3.5"><title>${esc(p.day)}: ${p.open} open</title></circle>`)
    .join("");
  const first = points[0]?.day ?? "";
  const last = points[points.length - 1]?.day ?? "";
  return [
    `<svg id="findings-chart" viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-labelledby="chart-title chart-desc">`,
    `<title id="chart-title">Open findings per day</title>`,
    `<desc id="chart-desc">Findings not resolved at the end of each UTC day from ${esc(first)} to ${esc(last)}: ${points.map((p) => `${esc(p.day)} ${p.open}`).join(", ")}.</desc>`,
    grid.join(""),
    `<line class="axis" x1="${PAD.left}" x2="${PAD.left}" y1="${PAD.top}" y2="${PAD.top + plotH}"/>`,
    `<line class="axis" x1="${PAD.left}" x2="${WIDTH - PAD.right}" y1="${PAD.top + plotH}" y2="${PAD.top + plotH}"/>`,
    xLabels,
    `<polyline class="series" fill="none" points="${line}"/>`,
    markers,
    `<text class="axis-label" x="${PAD.left + plotW / 2}" y="${HEIGHT - 12}" text-anchor="middle">Day (UTC, month-day)</text>`,
    `<text class="axis-label" transform="translate(16 ${PAD.top + plotH / 2}) rotate(-90)" text-anchor="middle">Open findings</text>`,
    `</svg>`,
  ].join("\n");
}
