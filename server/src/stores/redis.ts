/**
 * The shared store (ioredis): several server processes use one Redis, so a visitor qualifies
 * whichever instance answers. Atomic per uid across processes by optimistic concurrency: read
 * the profile and its version, compute, then write with a compare-and-set Lua script that fails
 * when another process wrote in between (then read and compute again). The same script appends
 * the server-to-server outbox entry (a stream and its counter), so a profile change and its
 * outbox entry are one atomic write. The script names four keys: on Redis Cluster they must
 * hash to one slot (a prefix with a hash tag, e.g. `{segtag}:`), which puts the data on one shard.
 *
 * Failing fast: no offline queue and short timeouts, so while Redis is down calls are answered
 * 503 at once (the SDK retries), and ioredis reconnects in the background.
 */
import { randomBytes } from 'node:crypto';
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { KeyedLock } from '../keyed-lock';
import { decodeProfile, encodeProfile } from '../profiles/profile';
import { loadRedisDriver } from './redis-driver';
import {
  LeaseLostError,
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
  local epoch = redis.call('GET', KEYS[4])
  if seq == 1 or not epoch then
    epoch = ARGV[9]
    redis.call('SET', KEYS[4], epoch)
  end
  redis.call('XADD', KEYS[2], seq .. '-0', 'u', ARGV[6], 'c', ARGV[5], 'a', ARGV[7], 'v', ARGV[2], 's', ARGV[8], 'e', epoch)
end
return 1
`;
/**
 * Leases: the value is `<token> <owner>`; a new grant takes the next token from a counter. A
 * counter that starts (a new store, or a Redis that lost its data: restarted without
 * persistence) starts at the caller's clock in ms (ARGV[3]), so it never grants a token again
 * that an instance may still hold from before the loss: a commit prepared before the restart is
 * fenced off instead of moving a cursor of the new outbox.
 */
const LEASE = `
local cur = redis.call('GET', KEYS[1])
if cur then
  local sep = string.find(cur, ' ', 1, true)
  if string.sub(cur, sep + 1) ~= ARGV[1] then return 0 end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(string.sub(cur, 1, sep - 1))
end
local token = redis.call('INCR', KEYS[2])
if token == 1 and tonumber(ARGV[3]) > 1 then
  redis.call('SET', KEYS[2], ARGV[3])
  token = tonumber(ARGV[3])
end
redis.call('SET', KEYS[1], token .. ' ' .. ARGV[1], 'PX', ARGV[2])
return token
`;
const RELEASE = `
local cur = redis.call('GET', KEYS[1])
if cur and string.sub(cur, string.find(cur, ' ', 1, true) + 1) == ARGV[1] then redis.call('DEL', KEYS[1]) end
return 1
`;
/** A state write (and its dead letter), refused when ARGV[1] is set and the lease no longer holds it. */
const FENCED_SET = `
if ARGV[1] ~= '' and redis.call('GET', KEYS[1]) ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
if ARGV[4] ~= '' then redis.call('HSET', KEYS[3], ARGV[4], ARGV[5]) end
return 1
`;
const MAX_ATTEMPTS = 10;

type Client = RedisClient & {
  segtagCas(
    key: string,
    stream: string,
    counter: string,
    epoch: string,
    expected: string,
    next: string,
    data: string,
    expiresAt: number,
    changes: string,
    uid: string,
    at: number,
    segments: string,
    newEpoch: string,
  ): Promise<number>;
  segtagLease(key: string, counter: string, owner: string, ttlMs: number, floor: number): Promise<number>;
  segtagRelease(key: string, owner: string): Promise<number>;
  segtagSet(
    lease: string,
    state: string,
    dead: string,
    expected: string,
    field: string,
    value: string,
    deadId: string,
    deadJson: string,
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
  client.defineCommand('segtagCas', { numberOfKeys: 4, lua: CAS });
  client.defineCommand('segtagLease', { numberOfKeys: 2, lua: LEASE });
  client.defineCommand('segtagRelease', { numberOfKeys: 1, lua: RELEASE });
  client.defineCommand('segtagSet', { numberOfKeys: 3, lua: FENCED_SET });
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
  const epochKey = `${prefix}outbox:epoch`;
  const leaseKey = (name: string) => `${prefix}s2s:lease:${name}`;
  const tokenKey = (name: string) => `${prefix}s2s:lease-token:${name}`;
  const stateKey = `${prefix}s2s:state`;
  const deadKey = (partner: string) => `${prefix}s2s:dead:${partner}`;
  const toRow = ([id, fields]: [string, string[]]): OutboxRow => {
    const f: Record<string, string> = {};
    for (let i = 0; i + 1 < fields.length; i += 2) f[fields[i]] = fields[i + 1];
    const [entered, exited] = JSON.parse(f.c) as [string[], string[]];
    return {
      seq: Number(id.split('-')[0]),
      uid: f.u,
      entered,
      exited,
      at: Number(f.a),
      v: Number(f.v ?? 0),
      segments: f.s ? (JSON.parse(f.s) as string[]) : [],
      epoch: f.e ?? '0',
    };
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
    async setState(k, value, dead, fence) {
      const ok = await redis(
        client.segtagSet(
          leaseKey(fence?.name ?? ''),
          stateKey,
          deadKey(dead?.partner ?? ''),
          fence ? `${fence.token} ${fence.owner}` : '',
          k,
          value,
          dead?.id ?? '',
          dead ? JSON.stringify(dead) : '',
        ),
      );
      if (!ok) throw new LeaseLostError(fence!.name);
    },
    async lease(name, owner, ttlMs) {
      return redis(
        client.segtagLease(leaseKey(name), tokenKey(name), owner, Math.max(1, Math.round(ttlMs)), Math.floor(now())),
      );
    },
    async releaseLease(name, owner) {
      await redis(client.segtagRelease(leaseKey(name), owner));
    },
    async leaseHolder(name) {
      const cur = await redis(client.get(leaseKey(name)));
      return cur ? cur.slice(cur.indexOf(' ') + 1) : undefined;
    },
    async epoch() {
      return (await redis(client.get(epochKey))) ?? '';
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
        if (profile) rows.push({ uid: keys[i].slice(`${prefix}profile:`.length), segments: [...profile.segments] });
      });
      return { rows, next: next == '0' ? undefined : next, mayRepeat: true };
    },
  };

  return {
    kind: 'redis',
    outbox,
    redis: { client, prefix },
    update<T>(uid: string, change: Change<T>): Promise<T> {
      return lock.run(uid, async () => {
        for (let attempt = 1; ; attempt++) {
          const { version, profile } = await read(uid);
          const { write, result } = change(profile);
          if (!write) return result;
          // Never goes back, also after Redis lost the profile: partners keep the highest per visitor.
          const next = String(Math.max((Number(version) || 0) + 1, now() * 1000));
          const expiresAt = Math.ceil(write.expiresAt);
          const data = encodeProfile(write.profile);
          const d = write.deliver;
          const changes = d && (d.entered.length || d.exited.length) ? JSON.stringify([d.entered, d.exited]) : '';
          if (
            await redis(
              client.segtagCas(
                key(uid),
                streamKey,
                seqKey,
                epochKey,
                version,
                next,
                data,
                expiresAt,
                changes,
                uid,
                now(),
                JSON.stringify(write.profile.segments),
                randomBytes(6).toString('hex'),
              ),
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
    checkSettings: () => checkRedisSettings(client),
    async close() {
      try {
        await client.quit();
      } catch {
        client.disconnect();
      }
    },
  };
}

/**
 * What the outbox needs of Redis, as warnings naming the setting: persistence (`appendonly yes`
 * or `save` points), so a restart does not lose undelivered changes, and `maxmemory-policy
 * noeviction`, so Redis never drops an outbox entry, a cursor or a lease to make room.
 */
export async function checkRedisSettings(client: Pick<RedisClient, 'config'>): Promise<string[]> {
  const get = async (name: string) => {
    const reply = (await client.config('GET', name)) as string[];
    return reply[1];
  };
  let appendonly: string | undefined, save: string | undefined, policy: string | undefined;
  try {
    [appendonly, save, policy] = [await get('appendonly'), await get('save'), await get('maxmemory-policy')];
  } catch (e) {
    return [
      `cannot read the Redis settings (CONFIG GET: ${(e as Error).message}): make sure Redis has persistence (appendonly yes) and maxmemory-policy noeviction`,
    ];
  }
  const problems: string[] = [];
  if (appendonly != 'yes' && !save)
    problems.push(
      'Redis persistence is off (appendonly no, save ""): a Redis restart loses the profiles and every change not yet delivered to partners; set appendonly yes',
    );
  if (policy !== undefined && policy != 'noeviction')
    problems.push(
      `Redis maxmemory-policy is ${policy}: Redis may evict outbox entries, cursors or leases when full; set maxmemory-policy noeviction`,
    );
  return problems;
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
