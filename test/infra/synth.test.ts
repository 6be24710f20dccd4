import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../lib/app.ts';
import { ACKNOWLEDGEMENTS } from '../../lib/nag.ts';
import { exampleConfig } from '../helpers/fixtures.ts';

describe('cdk synth', () => {
  it('bundles every function as ESM and passes cdk-nag with no unacknowledged finding', () => {
    const { app } = createApp(exampleConfig(), { env: { account: '111122223333', region: 'us-east-1' } });
    // Policy validation runs during synth and throws on any unacknowledged finding.
    const assembly = app.synth();
    const bundles = readdirSync(assembly.directory).filter((entry) =>
      existsSync(join(assembly.directory, entry, 'index.mjs')),
    );
    expect(bundles).toHaveLength(9);
  });

  it('gives every acknowledgement a reason', () => {
    for (const ack of ACKNOWLEDGEMENTS) expect(ack.reason.length).toBeGreaterThan(40);
  });
});
