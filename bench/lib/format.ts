/** How figures are written in the report and the chart. */
import type { Goal } from './runner.ts';

export function formatValue(value: number, unit: Goal['unit']): string {
  if (!Number.isFinite(value)) return '—';
  if (unit === 'ms') return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} ms`;
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)}x`;
}

export function formatGoal(goal: Goal | undefined): string {
  if (!goal) return 'none (context)';
  return `${goal.op === '>=' ? '≥' : '≤'} ${formatValue(goal.value, goal.unit)}`;
}

export function formatNumber(value: number): string {
  if (!Number.isFinite(value)) return '—';
  return value >= 100 ? Math.round(value).toLocaleString('en-US') : value.toFixed(value >= 10 ? 1 : 2);
}

export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
