/**
 * The shared store (ioredis): several server processes use one Redis, so a visitor qualifies
 * whichever instance answers. Atomic per uid across processes by optimistic concurrency: read
 * the profile and its version, compute, then write with a compare-and-set Lua script that fails
 * when another process wrote in between (then read and compute again). One key per profile, so
 * it also works on Redis Cluster. A later outbox stream write belongs in the same script.
 *
 * Failing fast: no offline queue and short timeouts, so while Redis is down calls are answered
 * 503 at once (the SDK retries), and ioredis reconnects in the background.
 */
import type { Redis as RedisClient, RedisOptions } from 'ioredis';
import { KeyedLock } from '../keyed-lock';
import { decodeProfile, encodeProfile } from '../profiles/profile';
import { StoreUnavailableError, type Change, type ProfileStore, type StoreOptions } from './types';

export interface RedisStoreOptions extends StoreOptions {
  /** Key prefix; profiles live at `<prefix>profile:<uid>`. Default `segtag:`. */
  prefix?: string;
  /** How long a command may take before the call is answered 503 (ms). Default 1000. */
  commandTimeoutMs?: number;
  /** How long opening may wait for the first connection (ms). Default 5000. */
  connectTimeoutMs?: number;
}

/** Compare-and-set: writes only when the stored version is still the one read. */
const CAS = `
local v = redis.call('HGET', KEYS[1], 'v')
if (v or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[2], 'd', ARGV[3], 'x', ARGV[4])
redis.call('PEXPIREAT', KEYS[1], ARGV[4])
return 1
`;
const MAX_ATTEMPTS = 10;

type Client = RedisClient & {
  segtagCas(key: string, expected: string, next: string, data: string, expiresAt: number): Promise<number>;
};

async function loadDriver(): Promise<typeof import('ioredis').Redis> {
  try {
    return (await import('ioredis')).Redis;
  } catch (e) {
    throw new Error(`the redis store needs the ioredis package (npm install ioredis@5): ${(e as Error).message}`);
  }
}

/** Connects to `url` (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS). */
export async function openRedisStore(url: string, options: RedisStoreOptions = {}): Promise<ProfileStore> {
  const Redis = await loadDriver();
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
  client.defineCommand('segtagCas', { numberOfKeys: 1, lua: CAS });
  // Errors surface through the commands that fail; without a listener ioredis would log each one.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (e) {
    client.disconnect();
    throw new StoreUnavailableError(`cannot connect to Redis at ${redactUrl(url)}: ${(e as Error).message}`, { cause: e });
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

  return {
    kind: 'redis',
    update<T>(uid: string, change: Change<T>): Promise<T> {
      return lock.run(uid, async () => {
        for (let attempt = 1; ; attempt++) {
          const { version, profile } = await read(uid);
          const { write, result } = change(profile);
          if (!write) return result;
          const next = String((Number(version) || 0) + 1);
          const expiresAt = Math.ceil(write.expiresAt);
          const data = encodeProfile(write.profile);
          if (await redis(client.segtagCas(key(uid), version, next, data, expiresAt))) return result;
          if (attempt >= MAX_ATTEMPTS) throw new StoreUnavailableError(`redis: uid kept changing under ${attempt} attempts`);
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
