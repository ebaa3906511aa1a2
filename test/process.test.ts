import { existsSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MAIN, spawnVitals, startVitals } from './support/process';

beforeAll(() => {
  if (!existsSync(MAIN)) throw new Error('dist/main.js is missing: `npm test` builds it first (npm run build)');
});

describe('start-up configuration', () => {
  it('stops with a non-zero exit and one readable line per bad value', async () => {
    const { output, exited } = spawnVitals({
      PORT: 'eighty',
      HOST: 'example.com',
      TARGET_DENY_CIDRS: '10.0.0.0/8,nonsense',
      BODY_LIMIT: 'huge',
      DATABASE_URL: 'mysql://x',
    });
    expect(await exited).toBe(2);
    const lines = output().trim().split('\n');
    expect(lines).toEqual([
      expect.stringMatching(/^vitals: configuration: PORT: .*"eighty"/),
      expect.stringMatching(/^vitals: configuration: HOST: must be an IP address or localhost/),
      expect.stringMatching(/^vitals: configuration: DATABASE_URL: must be a postgres:\/\//),
      expect.stringMatching(/^vitals: configuration: TARGET_DENY_CIDRS: "nonsense" is not a CIDR/),
      expect.stringMatching(/^vitals: configuration: BODY_LIMIT: must be a size/),
    ]);
  });
});

describe('the embedded default database', () => {
  it('needs no setup, prints where Swagger UI is, and keeps its data across a restart', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'vitals-data-'));
    const first = await startVitals({ DATA_DIR: dataDir });
    let id: string;
    try {
      expect(first.output()).toMatch(new RegExp(`Swagger UI at ${first.base}/ui`));
      const created = await fetch(`${first.base}/api/v1/targets`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ name: 'kept', kind: 'http', url: 'http://127.0.0.1:9/' }),
      });
      expect(created.status).toBe(201);
      id = ((await created.json()) as { id: string }).id;
    } finally {
      expect(await first.stop()).toBe(0);
    }

    const second = await startVitals({ DATA_DIR: dataDir });
    try {
      const read = await fetch(`${second.base}/api/v1/targets/${id}`);
      expect(read.status).toBe(200);
      expect(await read.json()).toMatchObject({ id, name: 'kept' });
    } finally {
      expect(await second.stop()).toBe(0);
    }
  });
});
