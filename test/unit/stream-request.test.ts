import { describe, expect, it } from 'vitest';
import { reserveOrAnswerFromCache } from '../../lambdas/reserve-budget/core.ts';
import { ModelThrottledError, ModelTimeoutError } from '../../lambdas/shared/rules/errors.ts';
import { scopeOf } from '../../lambdas/shared/rules/settlement.ts';
import type { ConverseStreamEvent } from '../../lambdas/shared/rules/wire/stream.ts';
import type { RequestEnd } from '../../lambdas/shared/wiring/finish-request.ts';
import { STREAM_DEADLINE_MS, type StreamSink, streamRequest } from '../../lambdas/stream-model/core.ts';
import { budgetOf, catalog, RECEIVED_AT, storeWith } from '../helpers/core-fixtures.ts';
import { MemoryIdempotencyStore } from '../helpers/memory-stores.ts';

/**
 * The streaming core's endings once Bedrock has begun to answer, through the real cores
 * (validate, reserve, settle, the failure handler) over the in-memory stores: each charges the
 * whole reservation, and says why in the route's own error frame.
 */

const BUDGET = { costCenter: 'support', period: 'monthly' as const, limitPico: '500000000000000' };

/** Bedrock's stream as the invoker hands it on: a start and two deltas, then `end`. */
async function* answered(end: () => undefined, events = 3): AsyncIterable<ConverseStreamEvent> {
  const all: ConverseStreamEvent[] = [
    { messageStart: { role: 'assistant' } },
    { contentBlockDelta: { contentBlockIndex: 0, delta: { text: 'sim' } } },
    { contentBlockDelta: { contentBlockIndex: 0, delta: { text: ' sim' } } },
  ];
  yield* all.slice(0, events);
  end();
}

async function run(end: () => undefined, events = 3, late = false) {
  const store = storeWith([BUDGET]);
  const ends: RequestEnd[] = [];
  const written: string[] = [];
  let status: number | undefined;
  const sink: StreamSink = {
    open: (s) => {
      status = s;
    },
    write: (chunk) => written.push(String(chunk)),
    end: () => undefined,
    connected: true,
  };
  // `late`: the clock passes the stream's deadline once Bedrock's stream is open.
  let opened = false;
  const now = () => (late && opened ? RECEIVED_AT + STREAM_DEADLINE_MS : RECEIVED_AT + 50);
  await streamRequest(
    {
      requestId: 'req-stream',
      receivedAt: RECEIVED_AT,
      route: 'openai',
      stream: true,
      body: JSON.stringify({
        model: 'nova-lite',
        messages: [{ role: 'user', content: 'Hello' }],
        max_tokens: 100,
        stream: true,
        metadata: { costCenter: 'support', applicationId: 'faq', environment: 'test' },
      }),
    },
    {
      catalog,
      options: { openCallers: true },
      store,
      reserve: (request) =>
        reserveOrAnswerFromCache(request, { store, catalog, now, sleep: async () => undefined }),
      idempotency: new MemoryIdempotencyStore(),
      invoker: {
        converseStream: async () => {
          opened = true;
          return answered(end, events);
        },
      },
      now,
      onError: (what) => {
        throw new Error(`unexpected ${what}`);
      },
      finish: async (e) => {
        ends.push(e);
      },
    },
    sink,
  );
  const figures = store.figures(scopeOf(budgetOf(BUDGET), new Date(RECEIVED_AT)));
  const frames = written.map((w) => w.replace(/^data: /, '').trim());
  return { status, figures, record: ends[0]?.record, last: JSON.parse(frames.at(-1) ?? '{}') };
}

/** One ending: what Bedrock's stream does after its events, the code it gets, and when. */
interface Ending {
  name: string;
  end: () => undefined;
  code: 'MODEL_TIMEOUT' | 'MODEL_ERROR';
  /** How many events came first (3 by default). */
  events?: number;
  /** The clock is past the stream's deadline once it is open. */
  late?: boolean;
}

const fail = (error: Error) => () => {
  throw error;
};

const ENDINGS: Ending[] = [
  {
    name: 'the deadline cut: MODEL_TIMEOUT',
    // As the invoker throws it when the call's abort signal fires.
    end: fail(new ModelTimeoutError({ cause: Object.assign(new Error('aborted'), { name: 'AbortError' }) })),
    code: 'MODEL_TIMEOUT',
  },
  {
    name: 'the connection broke (a timeout, as the invoker calls what it cannot name): MODEL_ERROR',
    end: fail(new ModelTimeoutError({ cause: new Error('socket hang up') })),
    code: 'MODEL_ERROR',
  },
  {
    name: 'Bedrock failed mid-stream: MODEL_ERROR, as an answer that could not be read to its end',
    end: fail(new ModelThrottledError(2)),
    code: 'MODEL_ERROR',
  },
  { name: 'ended without its usage: MODEL_ERROR, the same', end: () => undefined, code: 'MODEL_ERROR' },
  {
    name: 'answered an empty stream, not even its usage: MODEL_ERROR, the same',
    end: () => undefined,
    code: 'MODEL_ERROR',
    events: 0,
  },
  {
    name: 'ended without its usage after the deadline: MODEL_TIMEOUT',
    end: () => undefined,
    code: 'MODEL_TIMEOUT',
    late: true,
  },
];

describe('a stream that Bedrock began to answer, then', () => {
  it.each(ENDINGS)('$name, and the whole reservation is charged', async ({ end, code, events, late }) => {
    const { status, figures, record, last } = await run(end, events, late);

    expect(status).toBe(200);
    expect(record).toMatchObject({ decision: 'failed', errorCode: code });
    expect(figures.reservedPico).toBe(0n);
    expect(figures.spentPico).toBeGreaterThan(0n);
    expect(figures.spentPico).toBe(BigInt(record?.costPico ?? -1));
    // The route's own error frame, after the deltas.
    expect(last.error).toMatchObject({ code: code.toLowerCase() });
    if (code === 'MODEL_ERROR') expect(last.error.message).toMatch(/whole reservation is charged/);
  });
});
