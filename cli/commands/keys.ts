import { type Column, render } from '../format.ts';
import { type CommandContext, listOption, UsageError } from './command.ts';

const keyColumns: Column[] = [
  { key: 'keyId', header: 'KEY ID' },
  { key: 'costCenters', header: 'COST CENTERS' },
  { key: 'applicationIds', header: 'APPLICATIONS' },
  { key: 'environments', header: 'ENVIRONMENTS' },
  { key: 'description', header: 'DESCRIPTION' },
  { key: 'createdAt', header: 'CREATED' },
];

/** A key's lists as space-separated text; a missing list (any value) as `*`. */
const joined = (row: Record<string, unknown>) =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [k, Array.isArray(v) ? v.join(' ') : v === null ? '*' : v]),
  );

/** `keys create|list|revoke`: the admin API's key routes. */
export async function keys({ api, format, values, args }: CommandContext): Promise<string> {
  const [command, target] = args;
  switch (command) {
    case 'create': {
      const costCenters = listOption(values, 'cost-centers');
      if (!costCenters?.length) throw new UsageError('keys create needs --cost-centers');
      const applicationIds = listOption(values, 'applications');
      const environments = listOption(values, 'environments');
      const body = await api('POST', '/v1/keys', undefined, {
        costCenters,
        ...(applicationIds ? { applicationIds } : {}),
        ...(environments ? { environments } : {}),
        ...(values.description ? { description: values.description } : {}),
      });
      if (format !== 'table')
        return render(format, [joined(body)], [...keyColumns, { key: 'apiKey', header: 'API KEY' }], body);
      return `${render(format, [joined(body)], keyColumns, body)}\n\nAPI key (shown only this once; store it now):\n${body.apiKey}`;
    }
    case 'list': {
      const body = await api('GET', '/v1/keys');
      return render(
        format,
        ((body.keys ?? []) as Array<Record<string, unknown>>).map(joined),
        keyColumns,
        body,
      );
    }
    case 'revoke': {
      if (!target) throw new UsageError('keys revoke needs a key ID');
      await api('DELETE', `/v1/keys/${encodeURIComponent(target)}`);
      return format === 'json' ? JSON.stringify({ revoked: true }) : `Revoked key ${target}.`;
    }
    default:
      throw new UsageError(`unknown command 'keys ${command ?? ''}'; see --help`);
  }
}
