import { loadConfig } from './config';

describe('configuration', () => {
  it('runs with no variables at all, on the embedded database, bound to loopback', () => {
    const loaded = loadConfig({});
    expect(loaded).toEqual({
      ok: true,
      config: expect.objectContaining({
        port: 8080,
        host: '127.0.0.1',
        hostIsLoopback: true,
        databaseUrl: undefined,
        dataDir: './data',
        apiTokens: [],
        bodyLimit: 1024 * 1024,
        logLevel: 'info',
      }),
    });
  });

  it('reads every variable', () => {
    const loaded = loadConfig({
      PORT: '9000',
      HOST: '::',
      DATABASE_URL: 'postgresql://u:p@db:5432/vitals',
      API_TOKENS: 'aaaaaaaaaaaaaaaa, bbbbbbbbbbbbbbbb',
      TARGET_DENY_CIDRS: '10.0.0.0/8',
      BODY_LIMIT: '256kb',
      LOG_LEVEL: 'debug',
    });
    expect(loaded.ok && loaded.config).toMatchObject({
      port: 9000,
      hostIsLoopback: false,
      apiTokens: ['aaaaaaaaaaaaaaaa', 'bbbbbbbbbbbbbbbb'],
      targetDenyCidrs: ['10.0.0.0/8'],
      bodyLimit: 256 * 1024,
    });
  });

  it('treats ::1 and localhost as loopback', () => {
    for (const HOST of ['::1', 'localhost', '127.0.0.2']) {
      const loaded = loadConfig({ HOST });
      expect(loaded.ok && loaded.config.hostIsLoopback).toBe(true);
    }
  });

  it('reports one line per problem, never echoing a secret', () => {
    const loaded = loadConfig({ PORT: '70000', API_TOKENS: 'short-secret', LOG_LEVEL: 'loud' });
    expect(loaded.ok).toBe(false);
    const problems = loaded.ok ? [] : loaded.problems;
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatch(/^PORT: .*65535.*"70000"/);
    expect(problems[1]).toMatch(/^API_TOKENS: each token must be at least 16 characters$/);
    expect(problems.join('\n')).not.toContain('short-secret');
    expect(problems[2]).toMatch(/^LOG_LEVEL: /);
  });
});
