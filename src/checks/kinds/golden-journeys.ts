import { type GoldenParams, runGolden } from '../golden.js';
import { defineCheckKind } from './kind.js';

export const goldenJourneys = defineCheckKind<GoldenParams>({
  type: 'golden_journeys',
  summary: 'derive a committed input and compare with a committed expected file (input, expected, config)',
  keys: ['input', 'expected', 'config'],
  anyRowFails: true,
  startEarly: true,
  parse: (entry, { path }) => ({ input: path('input'), expected: path('expected'), config: entry.config === undefined ? null : path('config') }),
  measure: runGolden,
});
