import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';

export interface LogSink {
  path: string;
  /** Put process.stdout back as it was. */
  restore(): void;
}

/**
 * Tee the JSON lines the handlers print (Powertools log lines on stdout and stderr, EMF metric
 * lines) into a file, as CloudWatch Logs would collect them. Other output passes through
 * untouched; with `echo: false` the JSON lines go only to the file.
 */
export function teeJsonLines(path: string, options: { echo: boolean }): LogSink {
  mkdirSync(dirname(path), { recursive: true });
  const restoreOut = tee(process.stdout, path, options.echo);
  const restoreErr = tee(process.stderr, path, options.echo);
  return {
    path,
    restore: () => {
      restoreOut();
      restoreErr();
    },
  };
}

function tee(stream: NodeJS.WriteStream, path: string, echo: boolean): () => void {
  const original = stream.write.bind(stream);
  let pending = '';
  const write = (chunk: unknown, ...rest: unknown[]): boolean => {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8');
    pending += text;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    const json = lines.filter((line) => line.startsWith('{'));
    if (json.length > 0) appendFileSync(path, `${json.join('\n')}\n`);
    // Budget alerts always reach the terminal, as a plain line when the JSON lines are not echoed.
    const alerts = echo ? [] : json.filter((line) => line.includes('"budgetAlert"')).map(alertLine);
    if (echo || json.length !== lines.length || alerts.length > 0) {
      const shown = echo ? lines : [...lines.filter((line) => !line.startsWith('{')), ...alerts];
      if (shown.length > 0)
        return (original as (s: string, ...r: unknown[]) => boolean)(`${shown.join('\n')}\n`, ...rest);
    }
    return true;
  };
  stream.write = write as typeof stream.write;
  return () => {
    stream.write = original;
  };
}

function alertLine(json: string): string {
  try {
    return `ALERT ${(JSON.parse(json) as { message?: string }).message ?? json}`;
  } catch {
    return json;
  }
}
