import { type Column, render, usd } from '../format.ts';
import { type CommandContext, numberOption, UsageError } from './command.ts';

const invokeColumns: Column[] = [
  { key: 'requestId', header: 'REQUEST' },
  { key: 'inputTokens', header: 'IN' },
  { key: 'outputTokens', header: 'OUT' },
  { key: 'costUsd', header: 'COST', format: usd },
  { key: 'spentUsd', header: 'SPENT', format: usd },
  { key: 'remainingUsd', header: 'REMAINING', format: usd },
];

/** `invoke "prompt"`: one POST /v1/invoke; the answer, its cost and the budget after it. */
export async function invoke({ api, format, values, args }: CommandContext): Promise<string> {
  const prompt = args.join(' ');
  if (!prompt) throw new UsageError('invoke needs the prompt text');
  const missing = ['cost-center', 'application', 'environment'].filter((k) => !values[k]);
  if (missing.length > 0) throw new UsageError(`invoke needs ${missing.map((k) => `--${k}`).join(', ')}`);
  const maxTokens = numberOption('max-tokens', values['max-tokens'] as string | undefined);
  const body = await api('POST', '/v1/invoke', undefined, {
    model: values.model,
    prompt: {
      messages: [{ role: 'user', content: prompt }],
      ...(maxTokens ? { parameters: { max_tokens: maxTokens } } : {}),
    },
    tags: {
      applicationId: values.application,
      costCenter: values['cost-center'],
      environment: values.environment,
    },
  });
  if (format === 'json') return JSON.stringify(body, null, 2);
  const usage = body.usage as { inputTokens: number; outputTokens: number };
  const row = {
    requestId: body.requestId,
    inputTokens: usage.inputTokens,
    outputTokens: usage.outputTokens,
    costUsd: (body.cost as { usd: number }).usd,
    ...(body.budget as Record<string, unknown>),
  };
  const table = render(format, [row], invokeColumns, body);
  return format === 'csv' ? table : `${(body.output as { content: string }).content}\n\n${table}`;
}
