import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { getRecording, listRecordingsOldestFirst, migrateToLatest, openConfiguredDatabase, type Db } from '@redred/db';
import { systemTimer } from '@redred/sfu';
import { operatorPath, type AppConfig } from '../config.ts';
import { dbFileIn } from '../plugins/db.ts';
import { RecordingService } from '../recording/service.ts';
import { configFor, type CliIo } from './io.ts';
import { EXIT, type ExitCode } from './streams.ts';
import { renderTable } from './table.ts';

export const RECORDINGS_USAGE = `Usage: redred recordings <command> [options]

Commands:
  list            every recording, oldest first (--user NAME: one channel's; --json)
  delete --id N   delete recording N, its files and its row (asks unless --yes)
  prune           apply RECORDING_RETENTION_DAYS and RECORDING_MAX_GB now (--dry-run: only print)

Options:
  --data-dir DIR  DATA_DIR (the database and recordings/) [env DATA_DIR]
  --yes, -y       (delete) do not ask
  --help, -h      print this help

Safe while the server runs: a recording still being written is never deleted.
Exit codes: 0 done, 1 error or declined, 2 usage error.`;

const COMMANDS = ['list', 'delete', 'prune'] as const;
type Command = (typeof COMMANDS)[number];

function usage(io: CliIo, message: string): ExitCode {
  io.err(`redred: ${message}\n\n${RECORDINGS_USAGE}`);
  return EXIT.usage;
}

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

function duration(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 3600)}:${String(Math.floor(s / 60) % 60).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** The server's RecordingService over the operator's database and folder (no recorder runs in the CLI). */
function serviceFor(db: Db, config: AppConfig, dataDir: string, now: number): RecordingService {
  const rc = config.recording;
  return new RecordingService(
    {
      db,
      log: pino({ level: 'silent' }),
      now: () => now,
      timer: systemTimer,
      ffmpegPath: rc.ffmpegPath,
      ffprobePath: rc.ffprobePath,
      recordingsDir: join(dataDir, 'recordings'),
      segmentSeconds: rc.segmentSeconds,
      minFreeBytes: rc.minFreeMb * 1024 * 1024,
      metrics: { runsStarted: 0, recorderDeaths: 0, finalized: 0, pruned: 0 },
    },
    { retentionDays: rc.retentionDays, maxBytes: rc.maxGb * 1024 ** 3 },
  );
}

/** `redred recordings list|delete|prune` (docs/recording.md). */
export async function runRecordingsCli(argv: readonly string[], io: CliIo): Promise<ExitCode> {
  let values;
  let positionals;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'data-dir': { type: 'string' },
        user: { type: 'string' },
        id: { type: 'string' },
        json: { type: 'boolean' },
        'dry-run': { type: 'boolean' },
        yes: { type: 'boolean', short: 'y' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (err) {
    return usage(io, err instanceof Error ? err.message : String(err));
  }
  if (values.help) {
    io.out(RECORDINGS_USAGE);
    return EXIT.ok;
  }
  const [command, ...extra] = positionals;
  if (!command || !(COMMANDS as readonly string[]).includes(command)) return usage(io, `unknown or missing command (${COMMANDS.join(', ')})`);
  if (extra.length > 0) return usage(io, `unexpected argument "${extra[0]}"`);
  const cmd = command as Command;
  if (cmd === 'delete' && (!values.id || !/^[1-9][0-9]{0,15}$/.test(values.id))) return usage(io, 'delete needs --id N (a recording id)');
  if (cmd !== 'delete' && (values.id !== undefined || values.yes !== undefined)) return usage(io, `--id and --yes apply to delete only`);
  if (cmd !== 'list' && (values.user !== undefined || values.json !== undefined)) return usage(io, `--user and --json apply to list only`);
  if (cmd !== 'prune' && values['dry-run'] !== undefined) return usage(io, `--dry-run applies to prune only`);

  const config = configFor(io);
  if (!config) return EXIT.error;
  const dataDir = values['data-dir'] ? operatorPath(values['data-dir'], io.env) : config.dataDir;
  const file = dbFileIn(dataDir);
  if (!config.databaseUrl && !existsSync(file)) {
    io.err(`redred: no database at ${file} (set --data-dir or DATA_DIR)`);
    return EXIT.error;
  }
  let handle;
  try {
    handle = openConfiguredDatabase({ databaseUrl: config.databaseUrl, file });
    await migrateToLatest(handle.db);
    const service = serviceFor(handle.db, config, dataDir, io.now());
    switch (cmd) {
      case 'list': {
        const rows = (await listRecordingsOldestFirst(handle.db)).filter((r) => !values.user || r.channel_username.toLowerCase() === values.user.toLowerCase());
        if (values.json) {
          io.out(JSON.stringify(rows.map((r) => ({ id: r.id, streamId: r.stream_id, channel: r.channel_username, title: r.stream_title, status: r.status, private: r.private === 1, startedAt: r.started_at, endedAt: r.ended_at, durationMs: r.duration_ms, sizeBytes: r.size_bytes, stopReason: r.stop_reason }))));
          return EXIT.ok;
        }
        const table = rows.map((r) => [String(r.id), r.channel_username, r.status + (r.stop_reason ? ` (${r.stop_reason})` : ''), new Date(r.started_at).toISOString(), duration(r.duration_ms), mb(r.size_bytes), r.private === 1 ? 'private' : 'public', r.stream_title]);
        for (const line of renderTable(['ID', 'CHANNEL', 'STATUS', 'STARTED', 'LENGTH', 'SIZE', 'VISIBILITY', 'TITLE'], table)) io.out(line);
        io.out(`${rows.length} recording(s), ${mb(rows.reduce((n, r) => n + r.size_bytes, 0))}`);
        return EXIT.ok;
      }
      case 'delete': {
        const rec = await getRecording(handle.db, Number(values.id));
        if (!rec) {
          io.err(`redred: no recording ${values.id}`);
          return EXIT.error;
        }
        if (rec.status === 'recording') {
          io.err(`redred: recording ${rec.id} is still being written (end stream ${rec.stream_id} first)`);
          return EXIT.error;
        }
        if (!values.yes && !(await io.confirm(`Delete recording ${rec.id} of ${rec.channel_username} ("${rec.stream_title}", ${mb(rec.size_bytes)})? [y/N] `))) {
          io.err('redred: not deleted');
          return EXIT.error;
        }
        await service.delete(rec.id);
        io.out(`deleted recording ${rec.id}`);
        return EXIT.ok;
      }
      case 'prune': {
        const { deleted } = await service.prune({ dryRun: values['dry-run'] ?? false });
        const verb = values['dry-run'] ? 'would delete' : 'deleted';
        io.out(deleted.length === 0 ? 'nothing to prune' : `${verb} ${deleted.length} recording(s): ${deleted.join(', ')}`);
        return EXIT.ok;
      }
      default: {
        const unreachable: never = cmd;
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
