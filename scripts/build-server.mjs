#!/usr/bin/env node
// The server as one JavaScript file, api/dist/server.mjs, so a start or a
// restart runs no TypeScript compiler (tsx costs 1.5–2 s before the first
// request on 2 cores). Only our workspaces (@redred/*) are bundled: every npm
// package stays an import from node_modules, so native addons (better-sqlite3,
// argon2), mediasoup's worker lookup and pino resolve exactly as in development.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'esbuild';

const BARE_IMPORT = /^[^./]/;

/** Builds `api/dist/server.mjs` (and its source map) from `api/src/server.ts`; returns the output path. */
export async function buildServer(root = resolve(dirname(fileURLToPath(import.meta.url)), '..')) {
  const outfile = join(root, 'api', 'dist', 'server.mjs');
  await build({
    entryPoints: [join(root, 'api', 'src', 'server.ts')],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    sourcemap: 'linked',
    logLevel: 'warning',
    plugins: [
      {
        name: 'npm-packages-external',
        setup(b) {
          b.onResolve({ filter: BARE_IMPORT }, (args) => (args.path.startsWith('@redred/') ? undefined : { path: args.path, external: true }));
        },
      },
    ],
  });
  if (!existsSync(outfile)) throw new Error(`esbuild wrote no ${outfile}`);
  return outfile;
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const t = Date.now();
  const out = await buildServer();
  console.log(`[setup] server build: ${out} in ${((Date.now() - t) / 1000).toFixed(1)} s`);
}
