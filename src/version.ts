import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

/** The version in package.json, read once. */
export const VERSION: string = (
  JSON.parse(readFileSync(resolve(__dirname, '..', 'package.json'), 'utf8')) as { version: string }
).version;
