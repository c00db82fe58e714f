import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { findUserByUsername, insertAdminLog, migrateToLatest, openConfiguredDatabase, setUserAdmin, setUserMayStream, type Db } from '@redred/db';
import { operatorPath } from '../config.ts';
import { dbFileIn } from '../plugins/db.ts';
import { configFor, type CliIo } from './io.ts';
import { EXIT, type ExitCode } from './streams.ts';

export const USERS_USAGE = `Usage: redred users <command> NAME [--data-dir DIR]

Commands:
  promote NAME    make NAME a site admin (the admin page at /admin)
  demote NAME     take the site admin role back (ADMIN_USERNAMES still wins)
  approve NAME    let NAME stream when STREAMING=approved
  unapprove NAME  take that back

Works whether the server runs or not; a running server sees the change at
once. Each change is written to the admin log, with no actor (the CLI).`;

type Command = 'promote' | 'demote' | 'approve' | 'unapprove';
const CHANGES: Record<Command, { apply: (db: Db, id: number) => Promise<boolean>; action: string; done: string }> = {
  promote: { apply: (db, id) => setUserAdmin(db, id, true), action: 'admin_granted', done: 'is now a site admin' },
  demote: { apply: (db, id) => setUserAdmin(db, id, false), action: 'admin_revoked', done: 'is no longer a site admin' },
  approve: { apply: (db, id) => setUserMayStream(db, id, true), action: 'streamer_approved', done: 'may stream' },
  unapprove: { apply: (db, id) => setUserMayStream(db, id, false), action: 'streamer_unapproved', done: 'may no longer stream under STREAMING=approved' },
};

/** `redred users promote NAME`: how a site gets its first admin without ADMIN_USERNAMES. */
export async function runUsersCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({ args: [...argv], allowPositionals: true, strict: true, options: { 'data-dir': { type: 'string' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}\n\n${USERS_USAGE}`);
    return EXIT.usage;
  }
  if (values.help) {
    io.out(USERS_USAGE);
    return EXIT.ok;
  }
  const [command, name, ...extra] = positionals;
  if (!command || !(command in CHANGES) || !name || extra.length > 0) {
    io.err(`redred: ${command && command in CHANGES ? `${command} needs one NAME` : `unknown users command "${command ?? ''}"`}\n\n${USERS_USAGE}`);
    return EXIT.usage;
  }
  const config = configFor(io);
  if (!config) return EXIT.error;
  const file = dbFileIn(values['data-dir'] ? operatorPath(values['data-dir'], io.env) : config.dataDir);
  if (!config.databaseUrl && !existsSync(file)) {
    io.err(`redred: no database at ${file} (set --data-dir or DATA_DIR)`);
    return EXIT.error;
  }
  const handle = openConfiguredDatabase({ databaseUrl: config.databaseUrl, file });
  try {
    await migrateToLatest(handle.db);
    const user = await findUserByUsername(handle.db, name);
    if (!user || user.deleted_at !== null) {
      io.err(`redred: no user "${name}"`);
      return EXIT.error;
    }
    const change = CHANGES[command as Command];
    await handle.db.transaction().execute(async (trx) => {
      await change.apply(trx, user.id);
      await insertAdminLog(trx, { actorId: null, action: change.action, targetUserId: user.id, details: { via: 'cli' }, now: io.now() });
    });
    io.out(`${user.username} ${change.done}`);
    return EXIT.ok;
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.error;
  } finally {
    await handle.close();
  }
}
