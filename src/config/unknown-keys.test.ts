import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { CONFIG_KEYS } from './config-keys.js';
import { DEFAULT_PIPELINE, validateConfigDocument } from './config.js';
import { findUnknownKeys } from './unknown-keys.js';

const warningsOf = (document: unknown) => {
  const result = validateConfigDocument(document, 'journeyctl.yaml');
  return result.ok ? result.warnings : result.errors;
};

describe('unknown config keys are reported at any depth, with a "did you mean"', () => {
  it('names a misspelt nested key with its path and the key it meant', () => {
    expect(warningsOf({ pipeline: { session_inactivty: '45m' }, stores: { raw: { engin: 'sqlite' } } })).toEqual([
      'journeyctl.yaml: unknown key "pipeline.session_inactivty" ignored (did you mean "pipeline.session_inactivity"?)',
      'journeyctl.yaml: unknown key "stores.raw.engin" ignored (did you mean "stores.raw.engine"?)',
    ]);
  });

  it('suggests the section a key belongs to, and gives no suggestion for a key far from any', () => {
    expect(warningsOf({ session_inactivity: '45m', kafka: { ssl: { ca: 'x.pem' } }, flags: { bot_like: { min_event: 3 } }, zzz: 1 })).toEqual([
      'journeyctl.yaml: unknown key "session_inactivity" ignored (did you mean "pipeline.session_inactivity"?)',
      'journeyctl.yaml: unknown key "kafka.ssl.ca" ignored',
      'journeyctl.yaml: unknown key "flags.bot_like.min_event" ignored (did you mean "flags.bot_like.min_events"?)',
      'journeyctl.yaml: unknown key "zzz" ignored',
    ]);
  });

  it('walks wildcard names and list items', () => {
    expect(findUnknownKeys({ tracking_plan: { events: { checkout: { requried: ['a'] } } }, funnels: [{ name: 'f', steps: [], windw: '1h' }] }, CONFIG_KEYS)).toEqual([
      { path: 'tracking_plan.events.checkout.requried', suggestion: 'tracking_plan.events.checkout.required' },
      { path: 'funnels[0].windw', suggestion: 'funnels[0].window' },
    ]);
  });

  it('knows every pipeline setting and the shipped config files', () => {
    const snake = (name: string) => name.replace(/Ms$/, '').replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
    const pipelineKeys = Object.keys(CONFIG_KEYS.pipeline!);
    for (const key of Object.keys(DEFAULT_PIPELINE)) expect(pipelineKeys).toContain(snake(key));
    const fixtures = join(import.meta.dirname, '..', '..', 'fixtures');
    for (const file of ['journeyctl.yaml']) expect(findUnknownKeys(parseYaml(readFileSync(join(fixtures, file), 'utf8')), CONFIG_KEYS)).toEqual([]);
  });
});
