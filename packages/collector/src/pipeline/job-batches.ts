export interface JobBatchesOptions {
  /** Batches run at once. */
  running: number;
  /** Jobs a batch takes at most. */
  maxJobs: number;
  /** Items (events) a batch takes at most; a job larger than that is a batch of its own. */
  maxItems: number;
  /** How long the first job waits for others while a batch could start (0: the same turn of the event loop). */
  lingerMs?: number;
}

/** A job's outcome in its batch: its own result, or the error it fails with. */
export type BatchOutcome<R> = { ok: true; value: R } | { ok: false; error: unknown };

interface Waiting<J, R> {
  job: J;
  size: number;
  resolve: (value: R) => void;
  reject: (err: unknown) => void;
}

/**
 * Group commit of queue jobs: each job handed to `add` (by a BullMQ processor running it) waits to be stored
 * with others, and `run` stores a whole batch, answering each job's outcome. A batch starts when a batch slot is
 * free — at once with the jobs that arrived in the same turn of the event loop (or within `lingerMs`), or, while
 * every slot is busy, with all the jobs that came meanwhile when one frees up. So a worker that keeps up stores
 * each job as it comes, and one that is behind stores many jobs with the round trips of one.
 */
export class JobBatches<J, R> {
  private waiting: Array<Waiting<J, R>> = [];
  private runningNow = 0;
  private timer: ReturnType<typeof setTimeout> | ReturnType<typeof setImmediate> | undefined;

  constructor(
    private readonly run: (jobs: J[]) => Promise<Array<BatchOutcome<R>>>,
    private readonly sizeOf: (job: J) => number,
    private readonly options: JobBatchesOptions,
  ) {}

  /** Jobs waiting for a batch. */
  get pending(): number {
    return this.waiting.length;
  }

  add(job: J): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.waiting.push({ job, size: this.sizeOf(job), resolve, reject });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.timer || this.runningNow >= this.options.running || !this.waiting.length) return;
    const go = () => {
      this.timer = undefined;
      this.start();
    };
    const { lingerMs = 0 } = this.options;
    this.timer = lingerMs > 0 ? setTimeout(go, lingerMs) : setImmediate(go);
  }

  private start(): void {
    while (this.runningNow < this.options.running && this.waiting.length) {
      let items = 0;
      let take = 0;
      while (
        take < this.waiting.length &&
        take < this.options.maxJobs &&
        (take === 0 || items + this.waiting[take]!.size <= this.options.maxItems)
      ) {
        items += this.waiting[take]!.size;
        take++;
      }
      const batch = this.waiting.splice(0, take);
      this.runningNow++;
      this.runBatch(batch).finally(() => {
        this.runningNow--;
        this.schedule();
      });
    }
  }

  private async runBatch(batch: Array<Waiting<J, R>>): Promise<void> {
    let outcomes: Array<BatchOutcome<R>>;
    try {
      outcomes = await this.run(batch.map((w) => w.job));
    } catch (error) {
      outcomes = batch.map(() => ({ ok: false, error }));
    }
    batch.forEach((w, i) => {
      const outcome = outcomes[i] ?? { ok: false, error: new Error('the batch gave this job no outcome') };
      if (outcome.ok) w.resolve(outcome.value);
      else w.reject(outcome.error);
    });
  }
}
