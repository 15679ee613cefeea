/**
 * The chart of the ratios, as a hand-written SVG: one lane per row, each on its own scale, with the
 * median as a bar, the rounds' range as a whisker and the goal as a dashed line. Green when the
 * goal is met, red when missed, grey for context rows; skipped and failed rows say so.
 */
import { escapeXml, formatGoal, formatValue } from './format.ts';
import type { RowResult, RowSpec } from './runner.ts';

const WIDTH = 960;
const LABEL_WIDTH = 360;
const PLOT_LEFT = LABEL_WIDTH + 10;
const PLOT_RIGHT = WIDTH - 140;
const LANE = 46;
const TOP = 56;

const COLORS = { met: '#2e8b57', missed: '#c0392b', context: '#7f8c8d', text: '#222', muted: '#777', grid: '#ddd' };

export function chartSvg(rows: RowSpec[], results: RowResult[], caption: string): string {
  const byId = new Map(results.map((r) => [r.id, r]));
  const shown = rows.filter((row) => byId.has(row.id));
  const height = TOP + shown.length * LANE + 30;
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif" font-size="13">`,
    `<rect width="${WIDTH}" height="${height}" fill="#fff"/>`,
    `<text x="12" y="22" font-size="16" font-weight="bold" fill="${COLORS.text}">taskmesh beside its anchors (taskmesh ÷ anchor; bar: median, whisker: rounds' range, dashes: goal)</text>`,
    `<text x="12" y="42" fill="${COLORS.muted}">${escapeXml(caption)}</text>`,
  ];
  shown.forEach((row, i) => {
    const y = TOP + i * LANE;
    const result = byId.get(row.id)!;
    parts.push(`<line x1="12" x2="${WIDTH - 12}" y1="${y + LANE - 2}" y2="${y + LANE - 2}" stroke="${COLORS.grid}"/>`);
    parts.push(`<text x="12" y="${y + 18}" font-weight="bold" fill="${COLORS.text}">${escapeXml(row.title)}</text>`);
    parts.push(`<text x="12" y="${y + 35}" font-size="11" fill="${COLORS.muted}">${escapeXml(truncate(`vs ${row.anchor}`, 60))}</text>`);
    parts.push(`<text x="${PLOT_RIGHT + 10}" y="${y + 39}" font-size="11" fill="${COLORS.muted}">${row.goal ? `goal ${escapeXml(formatGoal(row.goal))}` : 'context, no goal'}</text>`);
    if (result.state !== 'measured') {
      const word = result.state === 'skipped' ? 'skipped' : 'failed';
      parts.push(`<text x="${PLOT_LEFT}" y="${y + 27}" fill="${COLORS.muted}" font-style="italic">${word}: ${escapeXml(truncate(result.reason.split('\n')[0]!, 80))}</text>`);
      return;
    }
    const unit = row.goal?.unit ?? 'x';
    const { median, min, max } = result.result;
    const top = Math.max(max, median, row.goal?.value ?? 0, unit === 'x' ? 1 : 0) * 1.2 || 1;
    const x = (v: number) => PLOT_LEFT + (Math.max(0, v) / top) * (PLOT_RIGHT - PLOT_LEFT);
    const color = result.met === undefined ? COLORS.context : result.met ? COLORS.met : COLORS.missed;
    const barY = y + 10;
    parts.push(`<rect x="${PLOT_LEFT}" y="${barY}" width="${(x(median) - PLOT_LEFT).toFixed(1)}" height="18" fill="${color}" opacity="0.85"/>`);
    parts.push(`<line x1="${x(min).toFixed(1)}" x2="${x(max).toFixed(1)}" y1="${barY + 9}" y2="${barY + 9}" stroke="${COLORS.text}" stroke-width="1.5"/>`);
    for (const v of [min, max]) parts.push(`<line x1="${x(v).toFixed(1)}" x2="${x(v).toFixed(1)}" y1="${barY + 4}" y2="${barY + 14}" stroke="${COLORS.text}" stroke-width="1.5"/>`);
    if (unit === 'x') {
      parts.push(`<line x1="${x(1).toFixed(1)}" x2="${x(1).toFixed(1)}" y1="${y + 4}" y2="${y + 34}" stroke="${COLORS.muted}" stroke-width="1"/>`);
      parts.push(`<text x="${x(1).toFixed(1)}" y="${y + 42}" font-size="10" text-anchor="middle" fill="${COLORS.muted}">1x</text>`);
    }
    if (row.goal) {
      const gx = x(row.goal.value).toFixed(1);
      parts.push(`<line x1="${gx}" x2="${gx}" y1="${y + 2}" y2="${y + 36}" stroke="${COLORS.text}" stroke-width="2" stroke-dasharray="4 3"/>`);
    }
    parts.push(`<text x="${PLOT_RIGHT + 10}" y="${y + 22}" font-weight="bold" fill="${color}">${escapeXml(formatValue(median, unit))}</text>`);
  });
  parts.push(`<text x="12" y="${height - 10}" font-size="11" fill="${COLORS.muted}">Each lane has its own scale, from 0. Figures: bench/RESULTS.md.</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}
