import { buildApp } from './app.ts';
import { configFromEnv } from './config.ts';
import { publicLink } from './security/public-url.ts';

// The entry file only parses config, listens, and shuts down cleanly.
const config = configFromEnv();
const app = await buildApp(config);

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal }, 'shutting down');
  // Hard stop if something hangs: the WAL is already durable, only the checkpoint is lost.
  const force = setTimeout(() => process.exit(1), 4500);
  force.unref();
  try {
    await app.close();
    process.exit(0);
  } catch (err) {
    app.log.error({ err }, 'shutdown failed');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

const url = await app.listen({ host: config.host, port: config.port });
app.log.info({ url, dataDir: config.dataDir, publicUrl: config.publicUrl ?? null }, 'RED-RED Live is up');
if (config.publicUrl) app.log.info(`streamers go live at ${publicLink(config.publicUrl, '/studio')}`);
