import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * An HTTP proxy in front of the embedded DynamoDB that counts the calls by operation, and can
 * be told to fail: while `failing` matches a call's operation (e.g. `UpdateItem`), it answers
 * DynamoDB's InternalServerError. Tests inject faults with it; the benchmark counts with it.
 */
export interface FaultProxy {
  endpoint: string;
  /** Operations to fail, or 'all'; empty to pass everything through. */
  failing: Set<string> | 'all';
  failures: number;
  /** Calls passed through, by operation (`UpdateItem`: 3). */
  calls: Map<string, number>;
  /**
   * A finer fault: given a call's operation and JSON body, `fail` answers InternalServerError
   * without applying it; `lost` applies it, then answers InternalServerError (a write whose
   * answer never came back).
   */
  fault?: ((operation: string, body: string) => 'fail' | 'lost' | undefined) | undefined;
  close(): Promise<void>;
}

export async function startFaultProxy(target: string): Promise<FaultProxy> {
  const proxy: FaultProxy = {
    endpoint: '',
    failing: new Set(),
    failures: 0,
    calls: new Map(),
    close: async () => {},
  };
  const server = http.createServer((req, res) => {
    const operation = String(req.headers['x-amz-target'] ?? '').split('.')[1] ?? '';
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      const fail = () => {
        proxy.failures++;
        res.writeHead(500, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({
            __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
            message: 'injected',
          }),
        );
      };
      const verdict =
        proxy.failing === 'all' || proxy.failing.has(operation)
          ? 'fail'
          : proxy.fault?.(operation, body.toString('utf8'));
      if (verdict === 'fail') {
        fail();
        return;
      }
      proxy.calls.set(operation, (proxy.calls.get(operation) ?? 0) + 1);
      const upstream = http.request(
        `${target}${req.url ?? '/'}`,
        { method: req.method, headers: req.headers },
        (up) => {
          if (verdict === 'lost') {
            up.resume();
            up.on('end', fail);
            return;
          }
          res.writeHead(up.statusCode ?? 500, up.headers);
          up.pipe(res);
        },
      );
      upstream.on('error', () => {
        res.writeHead(502);
        res.end();
      });
      upstream.end(body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return proxy;
}

/** Run `action` while the proxy fails the given operations (or all of them). */
export async function whileFailing<T>(
  proxy: FaultProxy,
  failing: Set<string> | 'all',
  action: () => Promise<T>,
): Promise<T> {
  proxy.failing = failing;
  try {
    return await action();
  } finally {
    proxy.failing = new Set();
  }
}
