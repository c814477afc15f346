import { writeFileSync } from 'node:fs';
import { renderConfigDocs } from '../packages/server/src/config-docs.js';

writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigDocs());
