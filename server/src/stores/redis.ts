/**
 * The shared store (ioredis): several server processes use one Redis, so a visitor qualifies
 * whichever instance answers. Atomic per uid across processes by optimistic concurrency: read
 * the profile and its version, compute, then write with a compare-and-set Lua script that fails
 * when another process wrote in between (then read and compute again). The same script appends
 * the server-to-server outbox entry (a stream and its counter), so a profile change and its
 * outbox entry are one atomic write. The script names three keys: on Redis Cluster they must
 * hash to one slot (a prefix with a hash tag, e.g. `{segtag}:`), which puts the data on one shard.
 *
 * Failing fast: no offline queue and short timeouts, so while Redis is down calls are answered
 * 503 at once (the SDK retries), and ioredis reconnects in the background.
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { KeyedLock } from '../keyed-lock';
import { decodeProfile, encodeProfile } from '../profiles/profile';
import { loadRedisDriver } from './redis-driver';
import {
  StoreUnavailableError,
  type Change,
  type DeadLetter,
  type Outbox,
  type OutboxRow,
  type ProfileStore,
  type StoreOptions,
} from './types';

export interface RedisStoreOptions extends StoreOptions {
  /** Key prefix; profiles live at `<prefix>profile:<uid>`. Default `segtag:`. */
  prefix?: string;
  /** How long a command may take before the call is answered 503 (ms). Default 1000. */
  commandTimeoutMs?: number;
  /** How long opening may wait for the first connection (ms). Default 5000. */
  connectTimeoutMs?: number;
}

/**
 * Compare-and-set: writes only when the stored version is still the one read. With segment
 * changes to deliver (ARGV[5]), it appends them to the outbox stream in the same script, so the
 * profile and its outbox entry are written together or not at all. Entry ids are `<seq>-0`, seq
 * from a counter: dense, increasing, never reused.
 */
const CAS = `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'x', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
if ARGV[5] ~= '' then
  local seq = redis.call('INCR', KEYS[3])
  redis.call('XADD', KEYS[2], seq .. '-0', 'u', ARGV[6], 'c', ARGV[5], 'a', ARGV[7])
end
return 1
`;
const MAX_ATTEMPTS = 10;

type Client = RedisClient & {
  segtagCas(
    key: string,
    stream: string,
    counter: string,
    expected: string,
    next: string,
    data: string,
    expiresAt: number,
    changes: string,
    uid: string,
    at: number,
  ): Promise<number>;
};

/** Connects to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS). */
export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<ProfileStore> {
  const Redis = await loadRedisDriver();
  const now = options.now ?? Date.now;
  const prefix = options.prefix ?? 'segtag:';
  const config: RedisOptions = {
    lazyConnect: true,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: options.commandTimeoutMs ?? 1000,
    connectTimeout: options.connectTimeoutMs ?? 5000,
    // Reconnect for ever, at most a second apart: the store recovers when Redis returns.
    retryStrategy: (times) => Math.min(times * 100, 1000),
  };
  const client = new Redis(url, config) as Client;
  client.defineCommand('segtagCas', { numberOfKeys: 3, lua: CAS });
  // Errors surface through the commands that fail; without a listener ioredis would log each one.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    throw new StoreUnavailableError(`cannot connect to Redis at ${redactUrl(url)}: ${(e as Error).message}`, {
      cause: e,
    });
  }

  const key = (uid: string) => `${prefix}profile:${uid}`;
  // Calls for one uid in this process queue up instead of racing each other's compare-and-set.
  const lock = new KeyedLock();
  /** Every Redis failure (down, timeout, error reply) means the store is unavailable; a bug in `change` does not. */
  const redis = <T>(command: Promise<T>): Promise<T> =>
    command.catch((e: Error) => {
      throw new StoreUnavailableError(`redis: ${e.message}`, { cause: e });
    });
  const read = async (uid: string) => {
    const [version, data, expiresAt] = await redis(client.hmget(key(uid), 'v', 'd', 'x'));
    // Redis expires the key itself; the check also honours an injected clock.
    const live = data && Number(expiresAt) > now();
    return { version: version ?? '', profile: live ? decodeProfile(data) : undefined };
  };

  const streamKey = `${prefix}outbox`;
  const seqKey = `${prefix}outbox:seq`;
  const stateKey = `${prefix}s2s:state`;
  const deadKey = (partner: string) => `${prefix}s2s:dead:${partner}`;
  const toRow = ([id, fields]: [string, string[]]): OutboxRow => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
    const [entered, exited] = JSON.parse(f.c) as [string[], string[]];
    return { seq: Number(id.split('-')[0]), uid: f.u, entered, exited, at: Number(f.a) };
  };
  const lastSeq = async () => Number((await redis(client.get(seqKey))) ?? 0);
  const outbox: Outbox = {
    async after(afterSeq, limit) {
      const entries = await redis(client.xrange(streamKey, `(${afterSeq}-0`, '+', 'COUNT', limit));
      return entries.map(toRow);
    },
    lastSeq,
    async pending(afterSeq) {
      // Seqs are dense and only rows every partner is done with are trimmed.
      const [last, first] = await Promise.all([
        lastSeq(),
        redis(client.xrange(streamKey, `(${afterSeq}-0`, '+', 'COUNT', 1)),
      ]);
      return { count: Math.max(0, last - afterSeq), oldestAt: first[0] ? toRow(first[0]).at : undefined };
    },
    async prune(upTo) {
      await redis(client.xtrim(streamKey, 'MINID', `${upTo + 1}-0`));
    },
    async getState(k) {
      return (await redis(client.hget(stateKey, k))) ?? undefined;
    },
    async setState(k, value, dead) {
      const m = client.multi().hset(stateKey, k, value);
      if (dead) m.hset(deadKey(dead.partner), dead.id, JSON.stringify(dead));
      const results = await redis(m.exec());
      const failed = results?.find(([e]) => e);
      if (!results || failed)
        throw new StoreUnavailableError(`redis: ${failed?.[0]?.message ?? 'transaction aborted'}`);
    },
    async deadLetters(partner) {
      const all = await redis(client.hvals(deadKey(partner)));
      // Known fields only, the partner from the key: letters saved before the field was renamed
      // from `destination` read the same.
      return all
        .map((t) => JSON.parse(t) as DeadLetter)
        .map(({ id, body, error, at }) => ({ partner, id, body, error, at }))
        .sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : 1));
    },
    async removeDeadLetter(partner, id) {
      await redis(client.hdel(deadKey(partner), id));
    },
    async segmentsPage(cursor, limit) {
      const [next, keys] = await redis(client.scan(cursor || '0', 'MATCH', `${prefix}profile:*`, 'COUNT', limit));
      const pipeline = client.pipeline();
      for (const k of keys) pipeline.hmget(k, 'd', 'x');
      const replies = keys.length ? ((await redis(pipeline.exec())) ?? []) : [];
      const rows: { uid: string; segments: string[] }[] = [];
      replies.forEach(([error, reply], i) => {
        const [data, expiresAt] = (reply ?? []) as (string | null)[];
        if (error || !data || !(Number(expiresAt) > now())) return;
        const profile = decodeProfile(data);
        if (profile) rows.push({ uid: keys[i].slice(`${prefix}profile:`.length), segments: profile.segments });
      });
      return { rows, next: next == '0' ? undefined : next, mayRepeat: true };
    },
  };

  return {
    kind: 'redis',
    outbox,
    update<T>(uid: string, change: Change<T>): Promise<T> {
      return lock.run(uid, async () => {
        for (let attempt = 1; ; attempt++) {
          const { version, profile } = await read(uid);
          const { write, result } = change(profile);
          if (!write) return result;
          const next = String((Number(version) || 0) + 1);
          const expiresAt = Math.ceil(write.expiresAt);
          const data = encodeProfile(write.profile);
          const d = write.deliver;
          const changes = d && (d.entered.length || d.exited.length) ? JSON.stringify([d.entered, d.exited]) : '';
          if (
            await redis(
              client.segtagCas(key(uid), streamKey, seqKey, version, next, data, expiresAt, changes, uid, now()),
            )
          ) {
            return result;
          }
          if (attempt >= MAX_ATTEMPTS)
            throw new StoreUnavailableError(`redis: uid kept changing under ${attempt} attempts`);
          await new Promise((r) => setTimeout(r, Math.random() * 5 * attempt));
        }
      });
    },
    async get(uid) {
      return (await read(uid)).profile;
    },
    async ping() {
      await redis(client.ping());
    },
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/** The URL without a password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'redis://(unparsable url)';
  }
}
