import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

/** Bundles the media harness page into a temp dir the test server serves at `/`. */
export async function buildMediaHarness(): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'redred-harness-'));
  await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'media-harness.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outfile: join(dir, 'harness.js'),
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'index.html'), '<!doctype html><html><head><meta charset="utf-8"><title>harness</title></head><body><script type="module" src="/harness.js"></script></body></html>');
  return dir;
}

/** The media harness at `/` plus the WHIP/WHEP page (RTCPeerConnection + fetch only) at `/whip.html`. */
export async function buildWhipHarness(): Promise<string> {
  const dir = await buildMediaHarness();
  await build({
    entryPoints: [join(dirname(fileURLToPath(import.meta.url)), 'whip-page.ts')],
    bundle: true,
    format: 'esm',
    target: 'es2022',
    outfile: join(dir, 'whip.js'),
    logLevel: 'silent',
  });
  writeFileSync(join(dir, 'whip.html'), '<!doctype html><html><head><meta charset="utf-8"><title>whip</title></head><body><script type="module" src="/whip.js"></script></body></html>');
  return dir;
}
