// Entry of one chatter process: one ChatGroup (a share of the chat sockets and
// of the send rate), driven by the orchestrator over IPC.
import { ChatGroup, type ChatGroupOptions, type ChatGroupResult, type ChatProgress } from './chatter.ts';
import { nowMs } from './stats.ts';

export type ToChatterProcess =
  | { type: 'connect'; options: ChatGroupOptions }
  | { type: 'send'; rate: number; startAt: number; stopAt: number }
  | { type: 'stop' };

export type FromChatterProcess =
  | { type: 'connected'; connected: number; failed: number }
  | ({ type: 'progress'; at: number; cpuMs: number } & ChatProgress)
  | { type: 'result'; result: ChatGroupResult; cpuMs: number }
  | { type: 'error'; error: string };

let group: ChatGroup | null = null;

function send(msg: FromChatterProcess): void {
  process.send?.(msg);
}

/** The result can be large: leave only once IPC has flushed it (a disconnect right after send may drop it). */
function sendThenLeave(msg: FromChatterProcess): void {
  setTimeout(() => process.exit(0), 10_000).unref();
  process.send?.(msg, undefined, {}, () => {
    process.disconnect?.();
    setTimeout(() => process.exit(0), 200).unref();
  });
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

const progressTimer = setInterval(() => {
  if (group) send({ type: 'progress', at: nowMs(), cpuMs: cpuMs(), ...group.progress() });
}, 1000);

process.on('message', (raw: unknown) => {
  const msg = raw as ToChatterProcess;
  switch (msg.type) {
    case 'connect': {
      const g = new ChatGroup(msg.options);
      group = g;
      g.connect().then(
        (r) => send({ type: 'connected', ...r }),
        (err: unknown) => send({ type: 'error', error: String(err) }),
      );
      return;
    }
    case 'send':
      group?.startSending(msg.rate, msg.startAt, msg.stopAt);
      return;
    case 'stop': {
      clearInterval(progressTimer);
      if (group) sendThenLeave({ type: 'result', result: group.finish(), cpuMs: cpuMs() });
      else process.exit(0);
      return;
    }
    default: {
      const unknown: never = msg;
      send({ type: 'error', error: `unknown message ${JSON.stringify(unknown)}` });
    }
  }
});

process.on('disconnect', () => {
  setTimeout(() => process.exit(0), 500).unref();
});
process.on('uncaughtException', (err) => {
  send({ type: 'error', error: err.stack ?? String(err) });
});
