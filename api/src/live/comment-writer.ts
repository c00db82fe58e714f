import { insertComments, type Db, type NewCommentInput, type StoredComment } from '@redred/db';
import type { FastifyBaseLogger } from 'fastify';
import { isStorageUnavailable } from '../errors.ts';

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
 * `exclusive()` tasks run between two commits: a history backfill reads and
 * sends without a commit (and its broadcast) slipping in between.
 */
export class CommentWriter {
  readonly #db: Db;
  readonly #log: FastifyBaseLogger;
  readonly #maxBatch: number;
  #pending: Pending[] = [];
  #tasks: (() => Promise<void>)[] = [];
  #scheduled = false;
  #draining = false;

  constructor(db: Db, log: FastifyBaseLogger, { maxBatch = 1000 }: CommentWriterOptions = {}) {
    this.#db = db;
    this.#log = log;
    this.#maxBatch = maxBatch;
  }

  submit(input: NewCommentInput, outcome: CommentOutcome): void {
    this.#pending.push({ input, outcome });
    this.#schedule();
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
      void this.#drain();
    });
  }

  async #drain(): Promise<void> {
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
    try {
      stored = await insertComments(this.#db, batch.map((p) => p.input));
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
    batch.forEach((p, i) => this.#report(() => p.outcome.stored(stored[i]!)));
  }

  #report(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.#log.error({ err }, 'comment outcome handler failed');
    }
  }
}
