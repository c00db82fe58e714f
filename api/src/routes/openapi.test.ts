import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SwaggerParser from '@apidevtools/swagger-parser';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, isRestPath } from '../app.ts';
import { defaultConfig } from '../config.ts';

let app: FastifyInstance;
let dataDir: string;
const routes: { method: string; url: string }[] = [];

beforeAll(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'redred-openapi-'));
  app = await buildApp(defaultConfig({ port: 0, dataDir, logLevel: 'silent', mediasoupWorkers: 1, clientDir: undefined, metricsToken: 'scrape-token-0123456789' }), {
    logger: false,
    onRoute: (route) => {
      for (const method of [route.method].flat()) routes.push({ method: method.toLowerCase(), url: route.url });
    },
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
});
afterAll(async () => {
  await app.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Fastify's `/:id` is OpenAPI's `/{id}`. */
const openApiPath = (url: string) => url.replace(/:([A-Za-z0-9_]+)/g, '{$1}');

describe('GET /api/openapi.json', () => {
  it('is a valid OpenAPI 3 document listing every REST route with its method', async () => {
    const address = app.server.address();
    if (typeof address !== 'object' || !address) throw new Error('no address');
    const res = await fetch(`http://127.0.0.1:${address.port}/api/openapi.json`);
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, unknown>> };
    expect(doc.openapi).toBe('3.0.3');
    await SwaggerParser.validate(structuredClone(doc) as never);

    const rest = routes.filter((r) => isRestPath(r.url) && r.method !== 'head' && r.url !== '/api/openapi.json');
    expect(rest.length).toBeGreaterThan(40);
    const missing = rest.filter((r) => !doc.paths[openApiPath(r.url)]?.[r.method]).map((r) => `${r.method.toUpperCase()} ${r.url}`);
    expect(missing).toEqual([]);
    // Typed from the schemas: a body, a path parameter and an error response show up.
    expect(doc.paths['/api/admin/users/{id}/disable']!.post).toMatchObject({ requestBody: expect.any(Object), parameters: [expect.objectContaining({ name: 'id', in: 'path' })] });
    expect(Object.keys(doc.paths).filter((p) => !isRestPath(p))).toEqual([]);
  });
});
