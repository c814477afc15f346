import { SETTINGS } from './config.js';

/** Renders docs/configuration.md from the settings schema, so the reference cannot drift. */
export function renderConfigDocs(): string {
  const rows = Object.values(SETTINGS).map((s) => {
    const values = 'values' in s && s.values ? ` One of: ${s.values.map((v) => `\`${v}\``).join(', ')}.` : '';
    const bounds = 'min' in s && s.min !== undefined ? ` Range ${s.min}–${s.max}.` : '';
    return `| \`${s.env}\` | \`${String(s.default)}\` | ${s.description}${values}${bounds} |`;
  });
  return [
    '# Configuration',
    '',
    'Confab reads its settings from environment variables at start-up, checks all of them, and',
    'refuses to start with a list of every problem. This page is generated from',
    '`packages/server/src/config.ts` by `npm run docs:config`; a test fails when it is out of date.',
    '',
    '| variable | default | meaning |',
    '| --- | --- | --- |',
    ...rows,
    '',
  ].join('\n');
}
