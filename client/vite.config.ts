import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';
import preact from '@preact/preset-vite';

const protocolDir = fileURLToPath(new URL('../api/src/protocol/', import.meta.url));

/**
 * The client imports protocol types with `import type` from `@redred/api/protocol`
 * (erased before bundling) and plain values only from its `constants` and `errors`
 * subpaths. Anything else reaching the bundle would drag TypeBox in: fail the
 * build instead.
 */
function protocolValuesOnly(): Plugin {
  return {
    name: 'redred:protocol-values-only',
    load(id) {
      if (id.startsWith(protocolDir) && !/[\\/](constants|errors)\.ts$/.test(id)) {
        this.error(`${id.slice(protocolDir.length)} is protocol schema code: import its types with "import type" from '@redred/api/protocol', values only from '@redred/api/protocol/constants' or '@redred/api/protocol/errors'`);
      }
      return null;
    },
  };
}

export default defineConfig({
  plugins: [preact(), protocolValuesOnly()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
  },
  server: {
    // `npm run dev -w @redred/client` next to `npm start` (the api on :8080).
    proxy: {
      '/api': 'http://127.0.0.1:8080',
      '/ws': { target: 'ws://127.0.0.1:8080', ws: true },
    },
  },
});
