import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import request from 'supertest';
import { assertMatchesSpec } from './contract';

export interface ApiResponse<T = any> {
  status: number;
  headers: Record<string, string>;
  body: T;
}

type Method = 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/**
 * An HTTP client over a real socket (supertest) whose every response is checked against openapi.yaml, so each
 * e2e test is also a contract test of what it receives.
 */
export function apiClient(app: NestFastifyApplication, defaultHeaders: Record<string, string> = {}) {
  const server = app.getHttpServer();
  async function send<T>(
    method: Method,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<ApiResponse<T>> {
    let pending = request(server)
      [method.toLowerCase() as 'get'](path)
      .set({ ...defaultHeaders, ...headers });
    if (body !== undefined) pending = pending.send(body as object);
    const response = await pending;
    const contentType = String(response.headers['content-type'] ?? '');
    const parsed = /json/.test(contentType) ? (response.body as unknown) : response.text;
    assertMatchesSpec(method, path, { status: response.status, contentType, body: parsed });
    return { status: response.status, headers: response.headers as Record<string, string>, body: parsed as T };
  }
  return {
    get: <T = any>(path: string, headers?: Record<string, string>) => send<T>('GET', path, undefined, headers),
    post: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      send<T>('POST', path, body, headers),
    put: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      send<T>('PUT', path, body, headers),
    patch: <T = any>(path: string, body?: unknown, headers?: Record<string, string>) =>
      send<T>('PATCH', path, body, headers),
    delete: <T = any>(path: string, headers?: Record<string, string>) => send<T>('DELETE', path, undefined, headers),
  };
}
