import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { migrateToLatest, openConfiguredDatabase } from '@redred/db';
import { configFromEnv, operatorPath } from '../config.ts';
import { dbFileIn } from '../plugins/db.ts';
import type { CliIo } from './io.ts';
import { checkStreams, cleanupStreams, EXIT, forceCleanupStreams, type ExitCode } from './streams.ts';
import { runRecordingsCli } from './recordings.ts';
import { runStreamKeyCli } from './stream-key.ts';
import { runUsersCli } from './users.ts';
import { runBackupCli } from './backup.ts';

export const USAGE = `Usage: redred streams <command> [options]

Commands:
  check           list the streams that are not ended, and which rule would end them
  cleanup         end the streams the server's sweeper rules would end
  force-cleanup   end every stream that is not ended, or the one given by --id

Options:
  --data-dir DIR  folder of redred.sqlite [env DATA_DIR, else data/ in the repository];
                  with DATABASE_URL set, that PostgreSQL database instead
  --json          (check) print JSON instead of a table
  --dry-run       (cleanup) print what would be ended; change nothing
  --id N          (force-cleanup) only stream N
  --yes, -y       (force-cleanup) do not ask for confirmation
  --help, -h      print this help

Works whether the server runs or not. Rule thresholds come from the same
environment as the server's: SWEEP_MAX_LIVE_MS, SWEEP_IDLE_MS, SWEEP_WAITING_MS.
Exit codes: 0 done, 1 error or confirmation declined, 2 usage error.

       redred stream-key rotate --user NAME   a new WHIP stream key (redred stream-key --help)
       redred backup FILE | redred restore FILE   online SQLite backup, restore with the server stopped (redred backup --help)
       redred users promote|demote|approve|unapprove NAME   site admins and approved streamers (redred users --help)

       redred recordings list|delete|prune    recordings on disk (redred recordings --help)`;

const COMMANDS = ['check', 'cleanup', 'force-cleanup'] as const;
type Command = (typeof COMMANDS)[number];

/** Which command each option belongs to: an option given to another command is a usage error, not ignored. */
const OPTION_COMMANDS: Record<string, readonly Command[]> = {
  json: ['check'],
  'dry-run': ['cleanup'],
  id: ['force-cleanup'],
  yes: ['force-cleanup'],
};

class UsageError extends Error {
  readonly code = 'usage';
}

type Invocation =
  | { help: true }
  | { help: false; command: Command; dataDir: string | undefined; json: boolean; dryRun: boolean; id: number | undefined; yes: boolean };

export function parseInvocation(argv: readonly string[]): Invocation {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        json: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        id: { type: 'string' },
        yes: { type: 'boolean', short: 'y' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
  const { values, positionals } = parsed;
  if (values.help) return { help: true };
  const [group, command, ...extra] = positionals;
  if (group === undefined) throw new UsageError('missing command');
  if (group !== 'streams') throw new UsageError(`unknown command group "${group}" (only "streams")`);
  if (command === undefined) throw new UsageError(`missing command: ${COMMANDS.join(', ')}`);
  if (!(COMMANDS as readonly string[]).includes(command)) throw new UsageError(`unknown command "${command}" (${COMMANDS.join(', ')})`);
  if (extra.length > 0) throw new UsageError(`unexpected argument "${extra[0]}"`);
  const cmd = command as Command;
  for (const [option, commands] of Object.entries(OPTION_COMMANDS)) {
    if (values[option as keyof typeof values] !== undefined && !commands.includes(cmd)) {
      throw new UsageError(`--${option} does not apply to ${cmd}`);
    }
  }
  let id: number | undefined;
  if (values.id !== undefined) {
    id = Number(values.id);
    if (!/^[1-9][0-9]{0,15}$/.test(values.id) || !Number.isSafeInteger(id)) throw new UsageError(`--id must be a stream id, got "${values.id}"`);
  }
  if (values['data-dir'] === '') throw new UsageError('--data-dir must not be empty');
  return {
    help: false,
    command: cmd,
    dataDir: values['data-dir'],
    json: values.json ?? false,
    dryRun: values['dry-run'] ?? false,
    id,
    yes: values.yes ?? false,
  };
}

/** Runs one invocation and returns its exit code; never throws. */
export async function runCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  if (argv[0] === 'stream-key') return runStreamKeyCli(argv.slice(1), io);
  if (argv[0] === 'users') return runUsersCli(argv.slice(1), io);
  if (argv[0] === 'backup' || argv[0] === 'restore') return runBackupCli(argv[0], argv.slice(1), io);
  if (argv[0] === 'recordings') return runRecordingsCli(argv.slice(1), io);
  let inv: Invocation;
  try {
    inv = parseInvocation(argv);
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    io.err(`redred: ${err.message}`);
    io.err('');
    io.err(USAGE);
    return EXIT.usage;
  }
  if (inv.help) {
    io.out(USAGE);
    return EXIT.ok;
  }

  let rules;
  let defaultDataDir;
  let databaseUrl;
  try {
    const config = configFromEnv(io.env);
    rules = config.sweeper;
    defaultDataDir = config.dataDir;
    databaseUrl = config.databaseUrl;
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.error;
  }
  const file = dbFileIn(inv.dataDir === undefined ? defaultDataDir : operatorPath(inv.dataDir, io.env));
  // Opening would create an empty database: a wrong path must be an error, not an empty table.
  if (!databaseUrl && !existsSync(file)) {
    io.err(`redred: no database at ${file} (set --data-dir or DATA_DIR)`);
    return EXIT.error;
  }

  let handle;
  try {
    handle = openConfiguredDatabase({ databaseUrl, file });
    await migrateToLatest(handle.db);
    const ctx = { db: handle.db, now: io.now(), rules, io };
    switch (inv.command) {
      case 'check':
        return await checkStreams(ctx, { json: inv.json });
      case 'cleanup':
        return await cleanupStreams(ctx, { dryRun: inv.dryRun });
      case 'force-cleanup':
        return await forceCleanupStreams(ctx, { id: inv.id, yes: inv.yes });
      default: {
        const unreachable: never = inv.command;
        throw new Error(`unhandled command ${String(unreachable)}`);
      }
    }
  } catch (err) {
    io.err(`redred: ${err instanceof Error ? err.message : String(err)}`);
    return EXIT.error;
  } finally {
    await handle?.close();
  }
}
