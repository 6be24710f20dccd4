import { vi } from 'vitest';

/** Capture the JSON lines a handler writes (Powertools logs and EMF), however it writes them. */
export function captureJsonLines(): { lines: () => Array<Record<string, unknown>>; restore: () => void } {
  const chunks: string[] = [];
  const record = (chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  };
  const write = vi.spyOn(process.stdout, 'write').mockImplementation(record);
  const writeErr = vi.spyOn(process.stderr, 'write').mockImplementation(record);
  const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((method) =>
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      chunks.push(`${args.map(String).join(' ')}\n`);
    }),
  );
  return {
    lines: () =>
      chunks
        .join('')
        .split('\n')
        .filter((line) => line.startsWith('{'))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    restore: () => {
      write.mockRestore();
      writeErr.mockRestore();
      for (const spy of consoleSpies) spy.mockRestore();
    },
  };
}

/** The EMF lines among captured JSON lines. */
export function emfLines(lines: Array<Record<string, unknown>>): Array<Record<string, unknown>> {
  return lines.filter((line) => '_aws' in line);
}

export function emfDimensions(line: Record<string, unknown>): string[][] {
  const aws = line._aws as { CloudWatchMetrics: Array<{ Dimensions: string[][] }> };
  return aws.CloudWatchMetrics[0]?.Dimensions ?? [];
}
