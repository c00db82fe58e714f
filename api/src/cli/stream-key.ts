import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findUserByUsername, migrateToLatest, openDatabase } from '@redred/db';
import { dbFileIn } from '../plugins/db.ts';
import { rotateStreamKey } from '../whip/stream-keys.ts';
import { configFor, type CliIo } from './io.ts';
import { EXIT, type ExitCode } from './streams.ts';

export const STREAM_KEY_USAGE = `Usage: redred stream-key rotate --user NAME [--data-dir DIR]

Makes a new stream key for NAME's channel and prints it once (only its hash
is stored). An encoder publishing with the old key is disconnected by a
running server within seconds. Put the key in OBS: Settings → Stream →
Service "WHIP", Server <your site>/api/whip, Bearer Token <the key>.`;

/** `redred stream-key rotate --user NAME`: for operators, e.g. a streamer locked out of the studio. */
export async function runStreamKeyCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { user: { type: 'string' }, 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}\n\n${STREAM_KEY_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(STREAM_KEY_USAGE);
    return EXIT.ok;
  }
  if (positionals.length !== 1 || positionals[0] !== 'rotate' || !values.user) {
    io.err(`redred: ${positionals[0] === 'rotate' ? 'rotate needs --user NAME' : 'the only stream-key command is "rotate"'}\n\n${STREAM_KEY_USAGE}`);
    return EXIT.usage;
  }
  const config = configFor(io);
  if (!config) return EXIT.error;
  const file = dbFileIn(values['data-dir'] ? resolve(values['data-dir']) : config.dataDir);
  if (!existsSync(file)) {
    io.err(`redred: no database at ${file} (set --data-dir or DATA_DIR)`);
    return EXIT.error;
  }
  const handle = openDatabase({ file });
  try {
    await migrateToLatest(handle.db);
    const user = await findUserByUsername(handle.db, values.user);
    if (!user) {
      io.err(`redred: no user "${values.user}"`);
      return EXIT.error;
    }
    const key = await rotateStreamKey(handle.db, user.id, io.now());
    io.out(`stream key for ${user.username} (shown once):`);
    io.out(key);
    return EXIT.ok;
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.error;
  } finally {
    await handle.close();
  }
}
