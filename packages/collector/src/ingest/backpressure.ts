import type { Queue } from 'bullmq';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import type { Redis } from 'ioredis';
import { TrackMateError } from '../errors.js';
import type { Prometheus } from '../plugins/prometheus.js';
import { infoOfMasters } from '../plugins/redis.js';

export interface BackpressureOptions {
  /** Most events waiting in the ingest queue before new ones are refused (0 = no limit). */
  maxBacklogEvents: number;
  /** Highest share of Redis `maxmemory` in use before new events are refused (ignored without maxmemory). */
  maxRedisMemory: number;
  /** How often the queue and Redis are looked at. */
  intervalMs: number;
}

/** Average events per job of this process's enqueues (the group commit makes jobs of 1 to 2,000 events). */
export interface JobSizes {
  averageEventsPerJob(): number;
}

const RESUME_AT = 0.9;

/**
 * Refuses events the pipeline cannot store soon: above `maxBacklogEvents` waiting in the ingest queue (jobs ×
 * the average events per job), or above `maxRedisMemory` of Redis's maxmemory, the track endpoints answer 503
 * with Retry-After before reading the body, instead of acknowledging work that would pile up until Redis is
 * full. Looked at in the background every `intervalMs`, so a request pays nothing; accepting resumes once the
 * backlog is back under 90 % of the limit. When Redis does not answer, the last state stands (and the enqueue
 * itself answers 503).
 */
export class Backpressure {
  private over = false;
  private timer?: NodeJS.Timeout;
  private backlog = 0;
  private memory = 0;

  constructor(
    private readonly queue: Pick<Queue, 'getJobCounts'>,
    private readonly redis: Pick<Redis, 'info'>,
    private readonly sizes: JobSizes,
    private readonly options: BackpressureOptions,
    private readonly prometheus?: Prometheus,
  ) {}

  /** Events waiting in the ingest queue at the last look (0 when nothing looks: no limit set). */
  get backlogEvents(): number {
    return this.backlog;
  }

  start(): this {
    if (this.options.maxBacklogEvents > 0 || this.options.maxRedisMemory < 1) {
      this.timer = setInterval(() => void this.sample().catch(() => {}), this.options.intervalMs);
      this.timer.unref();
    }
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** onRequest hook of the track endpoints (callback style: no promise per request on the hot path). */
  check = (_request: FastifyRequest, _reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    if (!this.over) {
      done();
      return;
    }
    done(
      new TrackMateError('TM_ERR_BACKLOG', {
        retryAfter: 5,
        message: `The pipeline is behind (about ${this.backlog} events waiting${
          this.memory ? `, Redis ${Math.round(this.memory * 100)} % full` : ''
        }); retry after 5 s`,
      }),
    );
  };

  /** Reads the queue depth and Redis memory once and decides. */
  async sample(): Promise<void> {
    const { maxBacklogEvents, maxRedisMemory } = this.options;
    const counts = await this.queue.getJobCounts('waiting', 'prioritized');
    const jobs = Object.values(counts).reduce((a, b) => a + b, 0);
    this.backlog = Math.round(jobs * this.sizes.averageEventsPerJob());
    // on a Redis Cluster, the fullest master (the installation's keys share one slot, so one master)
    this.memory = maxRedisMemory < 1 ? Math.max(0, ...(await infoOfMasters(this.redis, 'memory')).map(memoryShare)) : 0;
    const overBacklog = maxBacklogEvents > 0 && this.backlog > maxBacklogEvents * (this.over ? RESUME_AT : 1);
    const overMemory = this.memory > 0 && this.memory > maxRedisMemory * (this.over ? RESUME_AT : 1);
    this.over = overBacklog || overMemory;
    this.prometheus?.backlogEvents.set(this.backlog);
    this.prometheus?.redisMemoryShare.set(this.memory);
    this.prometheus?.refusing.set(this.over ? 1 : 0);
  }
}

/** used_memory / maxmemory from INFO memory; 0 when Redis has no maxmemory. */
export function memoryShare(info: string): number {
  const field = (name: string) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(info)?.[1] ?? 0);
  const max = field('maxmemory');
  return max > 0 ? field('used_memory') / max : 0;
}
