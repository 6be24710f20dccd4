/** Budget periods are calendar periods in UTC. A new period starts at zero with no reset job. */
export const PERIODS = ['monthly', 'daily'] as const;
export type Period = (typeof PERIODS)[number];

const pad = (n: number) => String(n).padStart(2, '0');

/** The counter key of the period that contains `at`: `2026-11` or `2026-11-23`. */
export function periodKey(period: Period, at: Date): string {
  const month = `${at.getUTCFullYear()}-${pad(at.getUTCMonth() + 1)}`;
  return period === 'monthly' ? month : `${month}-${pad(at.getUTCDate())}`;
}

/** The first instant of the period that contains `at`. */
export function periodStart(period: Period, at: Date): Date {
  return period === 'monthly'
    ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), 1))
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate()));
}

/** The first instant of the next period: when the budget resets. */
export function periodEnd(period: Period, at: Date): Date {
  return period === 'monthly'
    ? new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth() + 1, 1))
    : new Date(Date.UTC(at.getUTCFullYear(), at.getUTCMonth(), at.getUTCDate() + 1));
}

/** Whole seconds from `at` until the period resets, at least 1 (for `Retry-After`). */
export function secondsUntilReset(period: Period, at: Date): number {
  return Math.max(1, Math.ceil((periodEnd(period, at).getTime() - at.getTime()) / 1000));
}

/** ISO-8601 without milliseconds: `2026-12-01T00:00:00Z`. */
export function isoSeconds(at: Date): string {
  return at.toISOString().replace(/\.\d{3}Z$/, 'Z');
}
