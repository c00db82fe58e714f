import { storeComments, type Db, type NewCommentInput, type StoredComment } from '@redred/db';
import type { FastifyBaseLogger } from 'fastify';
import { AppError, isStorageUnavailable } from '../errors.ts';
import type { ModerationGate } from './gate.ts';

/** What happens to one comment once the store has answered. Called in commit (id) order. */
export interface CommentOutcome {
  stored(comment: StoredComment): void;
  failed(err: unknown): void;
}

export interface CommentWriterOptions {
  /** Comments per transaction; a larger backlog commits in several. */
  maxBatch?: number;
}

interface Pending {
  input: NewCommentInput;
  outcome: CommentOutcome;
}

/**
 * Group commit for chat. Every comment submitted during one turn of the event
 * loop goes into one `insertComments` transaction (one fsync), and the outcomes
 * are reported only after that commit, in id order, synchronously one after the
 * other. Callers broadcast from `stored()`, so every receiver sees comments in
 * commit order and nobody sees a comment the store might still lose.
 *
 * The moderation gate is asked again inside each commit's transaction: a
 * comment whose author was banned, kicked or timed out after it was admitted
 * is refused there, so it is neither stored nor broadcast.
 *
 * `exclusive()` tasks run between two commits: a history backfill reads and
 * sends without a commit (and its broadcast) slipping in between.
 *
 * One writer per room (one channel): created and closed with it.
 */
export class CommentWriter {
  readonly #db: Db;
  readonly #gate: ModerationGate;
  readonly #log: FastifyBaseLogger;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #tasks: (() => Promise<void>)[] = [];
  #scheduled = false;
  #draining = false;
  /** Settles when the current (or last) drain is over. */
  #drained: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(db: Db, gate: ModerationGate, log: FastifyBaseLogger, { maxBatch = 1000 }: CommentWriterOptions = {}) {
    this.#db = db;
    this.#gate = gate;
    this.#log = log;
    this.#maxBatch = maxBatch;
  }

  get closed(): boolean {
    return this.#closed;
  }

  submit(input: NewCommentInput, outcome: CommentOutcome): void {
    if (this.#closed) {
      this.#report(() => outcome.failed(new AppError('stream_ended', 'the stream has ended; the comment was not saved')));
      return;
    }
    this.#pending.push({ input, outcome });
    this.#schedule();
  }

  /**
   * Refuses new comments and commits the ones already submitted (their authors
   * are told, and nothing admitted is dropped). Resolves when the store has
   * answered for all of them. Idempotent.
   */
  close(): Promise<void> {
    this.#closed = true;
    if (this.#draining) return this.#drained;
    if (this.#pending.length === 0 && this.#tasks.length === 0) return Promise.resolve();
    return this.#drain();
  }

  /** Runs `task` between commits; resolves or rejects with it. */
  exclusive<T>(task: () => Promise<T>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#tasks.push(() => task().then(resolve, reject));
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#draining) return;
    this.#scheduled = true;
    // setImmediate, not a microtask: it runs after the poll phase has delivered
    // every frame that arrived meanwhile, so they all share one commit.
    setImmediate(() => {
      this.#scheduled = false;
      if (!this.#draining) void this.#drain();
    });
  }

  #drain(): Promise<void> {
    this.#drained = this.#drainLoop();
    return this.#drained;
  }

  async #drainLoop(): Promise<void> {
    this.#draining = true;
    try {
      while (this.#pending.length > 0 || this.#tasks.length > 0) {
        if (this.#pending.length > 0) await this.#commit(this.#pending.splice(0, this.#maxBatch));
        const tasks = this.#tasks;
        this.#tasks = [];
        for (const task of tasks) await task();
      }
    } finally {
      this.#draining = false;
    }
  }

  async #commit(batch: Pending[]): Promise<void> {
    let stored: StoredComment[];
    let refused: Map<number, AppError>;
    try {
      const now = Math.max(...batch.map((p) => p.input.now));
      ({ stored, refused } = await this.#db.transaction().execute(async (trx) => {
        const refused = await this.#gate.refusalsAtCommit(trx, batch.map((p) => p.input.userId), now);
        const kept = batch.filter((p) => !refused.has(p.input.userId)).map((p) => p.input);
        return { stored: await storeComments(trx, kept), refused };
      }));
    } catch (err) {
      if (batch.length === 1 || isStorageUnavailable(err)) {
        for (const p of batch) this.#report(() => p.outcome.failed(err));
        return;
      }
      // One bad row (its stream deleted, say) rolls back the whole batch: retry
      // one by one so the others are not refused for it.
      this.#log.warn({ err, batch: batch.length }, 'comment batch failed; retrying one by one');
      for (const p of batch) await this.#commit([p]);
      return;
    }
    let next = 0;
    for (const p of batch) {
      const refusal = refused.get(p.input.userId);
      if (refusal) this.#report(() => p.outcome.failed(refusal));
      else {
        const comment = stored[next++]!;
        this.#report(() => p.outcome.stored(comment));
      }
    }
  }

  #report(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'comment outcome handler failed');
    }
  }
}
