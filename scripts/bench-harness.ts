/**
 * What the benchmark scenarios share: a local stack in its own process, a load driver with a
 * fixed number of calls in flight, and the percentiles they report.
 */
import { type ChildProcess, spawn } from 'node:child_process';

export const round2 = (n: number) => Math.round(n * 100) / 100;

export interface Figures {
  requests: number;
  p50: number;
  p95: number;
  p99: number;
  rps: number;
}

export function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

/** Run `total` calls with `concurrency` in flight; latencies in milliseconds. */
export async function drive(total: number, concurrency: number, call: () => Promise<void>): Promise<Figures> {
  const latencies: number[] = [];
  let next = 0;
  const started = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < total) {
        next++;
        const t0 = performance.now();
        await call();
        latencies.push(performance.now() - t0);
      }
    }),
  );
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    requests: total,
    p50: round2(percentile(latencies, 50)),
    p95: round2(percentile(latencies, 95)),
    p99: round2(percentile(latencies, 99)),
    rps: round2(total / seconds),
  };
}

export async function startStack(
  configPath: string,
  logFile: string,
): Promise<{ child: ChildProcess; url: string; simulator: string }> {
  const child = spawn(
    process.execPath,
    ['local/main.ts', '--port', '0', '--config', configPath, '--log-file', logFile, '--quiet'],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      env: { ...process.env, COST_SENTRY_BEDROCK: 'simulator' },
    },
  );
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the local stack did not start:\n${output}`)), 30_000);
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const url = /running at (http:\/\/\S+)/.exec(output)?.[1];
      const simulator = /simulator at (http:\/\/\S+)/.exec(output)?.[1];
      if (url && simulator) {
        clearTimeout(timer);
        resolve({ child, url, simulator });
      }
    });
    child.once('exit', (code) => reject(new Error(`the local stack exited with ${code}:\n${output}`)));
  });
}
