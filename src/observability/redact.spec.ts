import { redact, redactText } from './redact';

describe('redaction', () => {
  it('hides credentials in free text', () => {
    expect(redactText('Authorization: Bearer abc.def-123 sent')).toBe('Authorization: Bearer <redacted> sent');
    expect(redactText('basic Zm9vOmJhcg==')).toBe('basic <redacted>');
    expect(redactText('fetching https://admin:hunter2@example.com/metrics')).toBe(
      'fetching https://admin:<redacted>@example.com/metrics',
    );
    expect(redactText('postgres://vitals:pw@db:5432/vitals')).toBe('postgres://vitals:<redacted>@db:5432/vitals');
    expect(redactText('plain https://example.com/a@b text')).toBe('plain https://example.com/a@b text');
  });

  it('hides secret-named fields at any depth and keeps the rest', () => {
    expect(
      redact({
        headers: { Authorization: 'Bearer x', 'x-api-key': 'k', accept: 'text/plain' },
        password: 'p',
        nested: [{ token: 't', url: 'http://u:p@h/' }],
        count: 3,
      }),
    ).toEqual({
      headers: { Authorization: '<redacted>', 'x-api-key': '<redacted>', accept: 'text/plain' },
      password: '<redacted>',
      nested: [{ token: '<redacted>', url: 'http://u:<redacted>@h/' }],
      count: 3,
    });
  });
});
