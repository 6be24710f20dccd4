/**
 * Cold starts of the Lambda handlers as the stack bundles them, against their unbundled source.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { ENV } from '../lambdas/shared/wiring/env.ts';
import { type CostSentryConfig, catalogOf } from '../lib/config/schema.ts';

export interface ColdStart {
  function: string;
  bundleBytes: number;
  bundledInitMs: number;
  /** CPU milliseconds (user + system) of the bundled import: what Lambda's CPU share scales. */
  bundledInitCpuMs: number;
  /** The process's resident memory after the bundled import, in MiB: the floor of the function's memory. */
  bundledRssMiB: number;
  unbundledInitMs: number;
  ratio: number;
}

const FUNCTIONS = [
  'validate-request',
  'claim-idempotency-key',
  'reserve-budget',
  'invoke-model',
  'settle-usage',
  'handle-failure',
  'budget-admin',
  'authorize-key',
  'sweep-reservations',
];

/**
 * Bundle each handler as the stack does (esbuild: ESM, minified, node24, the SDK bundled) and
 * time a fresh Node process importing it, against the same process importing the handler's
 * TypeScript source with its node_modules. Medians of `runs`.
 */
export async function measureColdStarts(
  config: CostSentryConfig,
  runs = 5,
  names: readonly string[] = FUNCTIONS,
): Promise<ColdStart[]> {
  const dir = mkdtempSync(join(tmpdir(), 'cost-sentry-bundles-'));
  const env = {
    ...process.env,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    [ENV.catalog]: JSON.stringify(catalogOf(config)),
    [ENV.tableName]: 'cost-sentry',
    [ENV.bedrockTimeoutMs]: '18000',
  };
  const results: ColdStart[] = [];
  for (const name of names) {
    const outfile = join(dir, name, 'index.mjs');
    await build({
      entryPoints: [join('lambdas', name, 'handler.ts')],
      outfile,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node24',
      minify: true,
      sourcemap: 'external',
      mainFields: ['module', 'main'],
      banner: {
        js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
    const time = (file: string) => {
      const samples = Array.from({ length: runs }, () => {
        const script = `const c=process.cpuUsage();const t=performance.now();await import(${JSON.stringify(file)});const u=process.cpuUsage(c);process.stdout.write(JSON.stringify({ms:performance.now()-t,cpuMs:(u.user+u.system)/1000,rssMiB:process.memoryUsage().rss/2**20}));`;
        const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], {
          env,
          encoding: 'utf8',
        });
        if (child.status !== 0) throw new Error(`importing ${file} failed: ${child.stderr}`);
        return JSON.parse(child.stdout) as { ms: number; cpuMs: number; rssMiB: number };
      });
      return {
        ms: median(samples.map((r) => r.ms)),
        cpuMs: median(samples.map((r) => r.cpuMs)),
        rssMiB: median(samples.map((r) => r.rssMiB)),
      };
    };
    const bundled = time(outfile);
    const unbundledInitMs = time(join(process.cwd(), 'lambdas', name, 'handler.ts')).ms;
    const bundledInitMs = bundled.ms;
    results.push({
      function: name,
      bundleBytes: readFileSync(outfile).length,
      bundledInitMs: round2(bundledInitMs),
      bundledInitCpuMs: round2(bundled.cpuMs),
      bundledRssMiB: round2(bundled.rssMiB),
      unbundledInitMs: round2(unbundledInitMs),
      ratio: round2(unbundledInitMs / bundledInitMs),
    });
  }
  return results;
}

export const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? 0;
};
export const round2 = (n: number) => Math.round(n * 100) / 100;
