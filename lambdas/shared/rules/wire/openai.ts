import {
  type ChatMessage,
  type ContentBlock,
  IMAGE_FORMATS,
  type SystemBlock,
  type ToolConfig,
} from '../content.ts';
import type { ChatMessageIn, ChatRequest } from './openai-schema.ts';
import type { WireRequest } from './request.ts';

/**
 * OpenAI's Chat Completions format (`POST /v1/chat/completions`), so that the `openai` client
 * libraries, LangChain and the tools built on them work with their base URL set to the sentry.
 * Tags travel in `metadata`. A parameter the sentry cannot honour is refused, naming it, when it
 * asks for something; it is accepted when it asks for nothing.
 */

/** A refusal of one OpenAI parameter: which one (OpenAI's own name) and why. */
export class UnsupportedParameterError extends Error {
  readonly param: string;

  constructor(param: string, message: string) {
    super(message);
    this.param = param;
    this.name = 'UnsupportedParameterError';
  }
}

/** Refuse the parameters that ask for what Bedrock cannot give, by name. */
function refuseUnsupported(body: ChatRequest, streaming: boolean): void {
  const refuse = (param: string, why: string) => {
    throw new UnsupportedParameterError(param, `${param} is not supported: ${why}.`);
  };
  if ((body.n ?? 1) !== 1) refuse('n', 'Bedrock answers one choice per request');
  // Only the streaming Lambda streams; a workflow execution cannot.
  if (body.stream === true && !streaming) refuse('stream', 'this path does not stream; send stream: false');
  if (body.stream !== true && streaming) refuse('stream', 'the streaming path answers stream: true only');
  if (body.logprobs === true || (body.top_logprobs ?? 0) > 0)
    refuse('logprobs', 'Bedrock gives no log probabilities');
  if (body.response_format && body.response_format.type !== 'text') {
    refuse(
      'response_format',
      'the model cannot guarantee JSON output here; ask for it in the prompt or use a tool',
    );
  }
  if ((body.presence_penalty ?? 0) !== 0) refuse('presence_penalty', 'Bedrock has no presence penalty');
  if ((body.frequency_penalty ?? 0) !== 0) refuse('frequency_penalty', 'Bedrock has no frequency penalty');
  if (body.logit_bias && Object.keys(body.logit_bias).length > 0)
    refuse('logit_bias', 'Bedrock has no logit bias');
  if (body.seed !== undefined && body.seed !== null)
    refuse('seed', 'Bedrock offers no reproducible sampling');
  if (body.store === true) refuse('store', 'the sentry stores no completions');
  if (body.service_tier && !['auto', 'default'].includes(body.service_tier)) {
    refuse('service_tier', 'other service tiers are priced apart');
  }
  if (body.parallel_tool_calls === false)
    refuse('parallel_tool_calls', 'Bedrock cannot limit a turn to one tool call');
  if (body.reasoning_effort) refuse('reasoning_effort', 'reasoning budgets are not supported by the sentry');
  if (body.modalities?.some((m) => m !== 'text')) refuse('modalities', 'the sentry answers text only');
  if (body.audio !== undefined) refuse('audio', 'the sentry answers text only');
  if (body.prediction !== undefined) refuse('prediction', 'predicted outputs are not supported');
  if (body.web_search_options !== undefined) refuse('web_search_options', 'the sentry searches nothing');
  if (body.functions !== undefined || body.function_call !== undefined) {
    refuse('functions', 'use tools and tool_choice');
  }
}

const DATA_URL = /^data:image\/(png|jpeg|jpg|gif|webp);base64,([A-Za-z0-9+/]+={0,2})$/;

function userBlocks(content: ChatMessageIn & { role: 'user' }, index: number): ContentBlock[] {
  if (typeof content.content === 'string') return [{ text: content.content }];
  return content.content.map((part, p) => {
    if (part.type === 'text') return { text: part.text };
    const match = DATA_URL.exec(part.image_url.url);
    if (!match) {
      throw new UnsupportedParameterError(
        `messages[${index}].content[${p}].image_url.url`,
        `Only data: URLs of ${IMAGE_FORMATS.join(', ')} images are accepted: the sentry fetches nothing.`,
      );
    }
    const format = match[1] === 'jpg' ? 'jpeg' : (match[1] as (typeof IMAGE_FORMATS)[number]);
    return { image: { format, source: { bytes: match[2] as string } } };
  });
}

function textContent(content: string | Array<{ text: string }>): string {
  return typeof content === 'string' ? content : content.map((part) => part.text).join('');
}

/**
 * Read an OpenAI request as a wire request. Throws UnsupportedParameterError naming a parameter.
 * `streaming`: the request reached the streaming Lambda, which alone takes `stream: true`.
 */
export function fromOpenAi(
  body: ChatRequest,
  { streaming = false }: { streaming?: boolean } = {},
): WireRequest {
  refuseUnsupported(body, streaming);
  const system: SystemBlock[] = [];
  const messages: ChatMessage[] = [];
  const push = (role: ChatMessage['role'], blocks: ContentBlock[]) => {
    if (blocks.length === 0) return;
    const last = messages.at(-1);
    // Converse wants roles to alternate: consecutive turns of one role become one message.
    if (last?.role === role) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };
  body.messages.forEach((m, index) => {
    switch (m.role) {
      case 'system':
      case 'developer': {
        const value = textContent(m.content);
        if (value.length > 0) system.push({ text: value });
        return;
      }
      case 'user':
        push('user', userBlocks(m, index));
        return;
      case 'assistant': {
        const value =
          m.content === null || m.content === undefined
            ? ''
            : typeof m.content === 'string'
              ? m.content
              : m.content.map((p) => ('text' in p ? p.text : p.refusal)).join('');
        const blocks: ContentBlock[] = value.length > 0 ? [{ text: value }] : [];
        for (const [c, call] of (m.tool_calls ?? []).entries()) {
          let input: unknown;
          try {
            input = JSON.parse(call.function.arguments || '{}');
          } catch {
            throw new UnsupportedParameterError(
              `messages[${index}].tool_calls[${c}].function.arguments`,
              'Tool call arguments must be a JSON object.',
            );
          }
          blocks.push({ toolUse: { toolUseId: call.id, name: call.function.name, input: input as never } });
        }
        push('assistant', blocks);
        return;
      }
      case 'tool':
        push('user', [
          { toolResult: { toolUseId: m.tool_call_id, content: [{ text: textContent(m.content) }] } },
        ]);
        return;
    }
  });
  const history = messages.some((m) => m.content.some((b) => 'toolUse' in b || 'toolResult' in b));
  const toolConfig = toolConfigOf(body, history);
  const { metadata } = body;
  const extra = Object.fromEntries(
    Object.entries(metadata ?? {}).filter(
      ([key]) => !['costCenter', 'applicationId', 'environment'].includes(key),
    ),
  );
  const stop = body.stop === null || body.stop === undefined ? undefined : [body.stop].flat();
  return {
    model: body.model,
    ...(system.length > 0 ? { system } : {}),
    messages,
    ...(toolConfig ? { toolConfig } : {}),
    parameters: {
      maxTokens: body.max_completion_tokens ?? body.max_tokens ?? undefined,
      temperature: body.temperature ?? undefined,
      topP: body.top_p ?? undefined,
      stopSequences: stop,
    },
    tags: {
      costCenter: metadata?.costCenter,
      applicationId: metadata?.applicationId,
      environment: metadata?.environment,
    },
    ...(Object.keys(extra).length > 0 ? { metadata: extra } : {}),
  };
}

function toolConfigOf(body: ChatRequest, history: boolean): ToolConfig | undefined {
  if (!body.tools) {
    if (body.tool_choice && body.tool_choice !== 'none') {
      throw new UnsupportedParameterError('tool_choice', 'tool_choice needs tools.');
    }
    return undefined;
  }
  if (body.tool_choice === 'none') {
    // Converse has no "none"; without tool turns in the history, leaving the tools out is the same.
    if (!history) return undefined;
    throw new UnsupportedParameterError(
      'tool_choice',
      'tool_choice "none" cannot be honoured once the conversation holds tool calls; leave it out.',
    );
  }
  const choice = body.tool_choice;
  return {
    tools: body.tools.map((t) => ({
      toolSpec: {
        name: t.function.name,
        ...(t.function.description ? { description: t.function.description } : {}),
        inputSchema: { json: (t.function.parameters ?? { type: 'object', properties: {} }) as never },
      },
    })),
    ...(choice === undefined || choice === 'auto'
      ? {}
      : choice === 'required'
        ? { toolChoice: { any: {} } }
        : { toolChoice: { tool: { name: choice.function.name } } }),
  };
}
