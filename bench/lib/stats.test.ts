import { describe, expect, it } from 'vitest';
import { median, percentile, summarize } from './stats.ts';

describe('stats', () => {
  it('median of odd and even counts, whatever the order', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([4, 1, 3, 2])).toBe(2.5);
  });

  it('percentile by nearest rank', () => {
    const values = Array.from({ length: 100 }, (_, i) => 100 - i);
    expect(percentile(values, 50)).toBe(50);
    expect(percentile(values, 90)).toBe(90);
    expect(percentile(values, 100)).toBe(100);
    expect(percentile([7], 90)).toBe(7);
  });

  it('summarize gives the median, the range and the range relative to the median', () => {
    const summary = summarize([0.8, 1.0, 0.9]);
    expect(summary).toMatchObject({ median: 0.9, min: 0.8, max: 1.0 });
    expect(summary.spread).toBeCloseTo(0.2 / 0.9);
    expect(summary.samples).toEqual([0.8, 1.0, 0.9]);
  });

  it('refuses an empty list instead of answering NaN', () => {
    expect(() => median([])).toThrow(RangeError);
    expect(() => percentile([], 50)).toThrow(RangeError);
  });
});
