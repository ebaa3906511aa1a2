import type { FastifyInstance } from 'fastify';

export interface RouteEntry {
  method: string;
  url: string;
}

const tables = new WeakMap<FastifyInstance, RouteEntry[]>();

/** Starts recording every route added to `fastify` from now on, so the contract test can compare them with the spec. */
export function recordRoutes(fastify: FastifyInstance): void {
  const table: RouteEntry[] = [];
  tables.set(fastify, table);
  fastify.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) table.push({ method: method.toUpperCase(), url: route.url });
  });
}

export function recordedRoutes(fastify: FastifyInstance): RouteEntry[] {
  return tables.get(fastify) ?? [];
}
