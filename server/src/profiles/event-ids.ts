/**
 * The event ids a profile remembers for de-duplication, as keys (`eventKey` below), oldest first.
 * Each entry is `,<key> <time in base 36>`; the stored form is all entries in one string (one JSON
 * string, nothing to escape).
 *
 * In memory the entries live in immutable chunks of up to CHUNK entries, and a new version
 * (`with`, `trimmed`) shares every chunk it did not change with the version before, which stays
 * as it was (profiles are values: profile.ts). So a call on a profile the memory store keeps
 * costs O(new ids + one chunk + number of chunks), not O(every id): remembering copies only the
 * last chunk, forgetting the oldest cuts only the first, and a chunk searched a few times keeps an
 * index (id -> entry) that every later version sharing it uses. A profile decoded from SQLite or
 * Redis is searched once or twice in its one call, so its stored string stays one chunk, searched
 * with a substring search and never indexed, split or copied (JSON.parse already read it all).
 *
 * The structure itself takes any string without `,` and space (so an entry can never match across
 * its neighbours; `canRemember`), which every key is; it calls them ids.
 */
import { hash } from 'node:crypto';

/**
 * What a profile remembers of an event id: 66 bits of its SHA-1, 11 characters (base64url) whatever
 * the id's length, and never a `,` or a space. A UUID kept this way takes 21 bytes with its time
 * instead of 46, and the stored profile holds no event id at all. Two ids with the same key would
 * count the second as a duplicate: with 500 remembered keys, one chance in about 10^17 per event.
 */
export const eventKey = (id: string): string => hash('sha1', id, 'base64url').slice(0, 11);

const SEP = ',';
const TIME = ' ';

/**
 * Entries per chunk made by `with`. Each call copies and searches the last chunk and looks once
 * in each other chunk's index. A call on a visitor with 500 SDK ids (remember one, forget the
 * oldest; measured apart from the server): 16 entries 3.0 µs, 32 2.2, 48 1.9, 64 2.0, 128 2.2;
 * one 23 KB string (before chunks) 6.7.
 */
const CHUNK = 64;

/**
 * A chunk's text is searched with a substring search until its INDEX_AFTER-th search, which builds
 * the index. Building one costs several searches, and a decoded profile's text is searched once per
 * event id of its call, so only text that is searched again and again (a chunk of a profile kept
 * in memory, call after call) is worth indexing.
 */
const INDEX_AFTER = 3;

/** The bound on what is remembered: the most recent `maxIds`, none older than `maxAgeMs`, at most `maxChars` in all. */
export interface IdBounds {
  maxIds: number;
  maxAgeMs: number;
  maxChars: number;
}

/**
 * Entries (`,<id> <time>`...) and what searching them has learnt. Never changes what it answers;
 * the search count and the index are a cache, shared by every chunk cut from this text.
 */
class Entries {
  private searches = 0;
  /** Id -> offset of its first entry, once built. */
  private index: Map<string, number> | undefined;

  constructor(readonly text: string) {}

  /** The offset of the first entry of `id` at or after `from`, or -1. `pattern` is `,<id> `. */
  find(id: string, pattern: string, from: number): number {
    if (!this.index && ++this.searches < INDEX_AFTER) return this.text.indexOf(pattern, from);
    const at = (this.index ??= this.indexed()).get(id);
    if (at === undefined) return -1;
    // Its first entry was cut off the front (the same id twice, as a stored v1 profile can hold):
    // look for a later one.
    return at >= from ? at : this.text.indexOf(pattern, from);
  }

  private indexed(): Map<string, number> {
    const index = new Map<string, number>();
    for (let at = 0; at < this.text.length; at = nextEntry(this.text, at)) {
      const id = idAt(this.text, at);
      if (!index.has(id)) index.set(id, at);
    }
    return index;
  }
}

/**
 * A run of entries: those of `entries.text` from `from` on. Cutting entries off the front makes a
 * chunk with the same `entries` and a later `from`, so the index (if built) is still good for it.
 */
export interface Chunk {
  readonly entries: Entries;
  readonly from: number;
  /** How many entries. */
  readonly size: number;
}

const chunkOf = (text: string, size: number): Chunk => ({ entries: new Entries(text), from: 0, size });
const charsOf = (c: Chunk): number => c.entries.text.length - c.from;
const textOf = (c: Chunk): string => (c.from == 0 ? c.entries.text : c.entries.text.slice(c.from));

export class EventIds implements Iterable<[string, number]> {
  static readonly empty = new EventIds([], 0, 0);

  /** `chunks`: oldest first, none empty; `size`, `chars`: their sums. */
  private constructor(
    private readonly chunks: readonly Chunk[],
    readonly size: number,
    /** Characters the stored form takes (ASCII: also its bytes). */
    readonly chars: number,
  ) {}

  /** From `[id, time]` pairs, oldest first (the stored form before version 2). */
  static fromPairs(pairs: Iterable<readonly [string, number]>): EventIds {
    const built = new ChunkBuilder([]);
    for (const [id, at] of pairs) if (EventIds.canRemember(id) && Number.isFinite(at)) built.add(entry(id, at));
    return built.added ? new EventIds(built.done(), built.added, built.addedChars) : EventIds.empty;
  }

  /** From the stored form; undefined when it is not one. The text is kept as one chunk (see the top of the file). */
  static parse(text: unknown, size: unknown): EventIds | undefined {
    if (typeof text != 'string' || !Number.isSafeInteger(size) || (size as number) < 0) return;
    if (text ? !text.startsWith(SEP) : size !== 0) return;
    return text ? new EventIds([chunkOf(text, size as number)], size as number, text.length) : EventIds.empty;
  }

  static canRemember(id: string): boolean {
    return id != '' && !id.includes(SEP) && !id.includes(TIME);
  }

  /** The stored form (with `size`). */
  toString(): string {
    return this.chunks.length == 1 ? textOf(this.chunks[0]) : this.chunks.map(textOf).join('');
  }

  has(id: string): boolean {
    return this.find(id) !== undefined;
  }

  /** When the id was remembered (ms), if it is. */
  get(id: string): number | undefined {
    const found = this.find(id);
    return found && timeOf(found.chunk.entries.text, found.at);
  }

  /** The chunk and offset of the oldest entry of `id`. */
  private find(id: string): { chunk: Chunk; at: number } | undefined {
    if (!EventIds.canRemember(id)) return;
    const pattern = SEP + id + TIME;
    for (const chunk of this.chunks) {
      const at = chunk.entries.find(id, pattern, chunk.from);
      if (at >= 0) return { chunk, at };
    }
  }

  /** These ids remembered at `at` (callers pass ids not remembered yet), then trimmed to `bounds` as of `at`. */
  with(ids: readonly string[], at: number, bounds: IdBounds): EventIds {
    // Only the last chunk is copied, and only while it has room; the others are shared.
    const last = this.chunks[this.chunks.length - 1];
    const open = last && last.size < CHUNK ? last : undefined;
    const built = new ChunkBuilder(open ? this.chunks.slice(0, -1) : this.chunks.slice(), open);
    for (const id of ids) if (EventIds.canRemember(id)) built.add(entry(id, at));
    const added = built.added
      ? new EventIds(built.done(), this.size + built.added, this.chars + built.addedChars)
      : this;
    return added.trimmed(at, bounds);
  }

  /** Forgets ids remembered at or before `now - maxAgeMs` and the oldest beyond the bounds. */
  trimmed(now: number, bounds: IdBounds): EventIds {
    return this.trim(now - bounds.maxAgeMs, bounds);
  }

  /**
   * Drops entries from the front (the oldest): while the first was remembered at or before
   * `oldest`, and while there are more than `maxIds` or more than `maxChars` characters. Chunks
   * entirely beyond the count or size bound go whole; otherwise only the dropped entries (and the
   * first kept one) are looked at, and a chunk dropped in part becomes a cut of the same entries.
   * (Entries are in the order they were remembered; with clocks that disagree between servers an
   * entry can outlive the 7 days by that disagreement.)
   */
  private trim(oldest: number, { maxIds, maxChars }: IdBounds): EventIds {
    let { size, chars } = this;
    let dropped = 0; // whole chunks
    while (dropped < this.chunks.length) {
      const chunk = this.chunks[dropped];
      // Without this chunk there would still be maxIds or more ids, or maxChars or more characters.
      if (size - chunk.size >= maxIds || chars - charsOf(chunk) >= maxChars) {
        size -= chunk.size;
        chars -= charsOf(chunk);
        dropped++;
        continue;
      }
      const { text } = chunk.entries;
      let at = chunk.from;
      let left = chunk.size;
      while (at < text.length && !(timeOf(text, at) > oldest && size <= maxIds && chars <= maxChars)) {
        const next = nextEntry(text, at);
        chars -= next - at;
        size--;
        left--;
        at = next;
      }
      if (at < text.length) {
        if (at == chunk.from && dropped == 0) return this; // the usual case: nothing to forget
        const cut = at == chunk.from ? chunk : { entries: chunk.entries, from: at, size: left };
        return new EventIds([cut, ...this.chunks.slice(dropped + 1)], size, chars);
      }
      size -= left; // 0 unless a stored size disagreed with its text
      dropped++;
    }
    return EventIds.empty;
  }

  *[Symbol.iterator](): Iterator<[string, number]> {
    for (const { entries, from } of this.chunks) {
      const { text } = entries;
      for (let at = from; at < text.length; at = nextEntry(text, at)) yield [idAt(text, at), timeOf(text, at)];
    }
  }
}

/**
 * Appends entries to chunks: to a copy of `open` (the last chunk, which has room) while it has
 * room, then to new chunks of up to CHUNK entries.
 */
class ChunkBuilder {
  /** Entries added, and their characters. */
  added = 0;
  addedChars = 0;
  /** The chunk being filled: its text and how many entries. */
  private text: string;
  private count: number;

  constructor(
    private readonly chunks: Chunk[],
    open?: Chunk,
  ) {
    this.text = open ? textOf(open) : '';
    this.count = open?.size ?? 0;
  }

  add(entry: string) {
    this.text += entry;
    this.added++;
    this.addedChars += entry.length;
    if (++this.count == CHUNK) this.close();
  }

  done(): Chunk[] {
    if (this.count) this.close();
    return this.chunks;
  }

  private close() {
    this.chunks.push(chunkOf(this.text, this.count));
    this.text = '';
    this.count = 0;
  }
}

/**
 * The chunks of a version, oldest first. For tests only (to show what versions share); the
 * chunks are not to be changed.
 */
export const chunksOf = (ids: EventIds): readonly Chunk[] => (ids as unknown as { chunks: readonly Chunk[] }).chunks;

const entry = (id: string, at: number) => SEP + id + TIME + Math.trunc(at).toString(36);

/** The offset of the entry after the one at `at` (the text's length after the last). */
function nextEntry(text: string, at: number): number {
  const next = text.indexOf(SEP, at + 1);
  return next < 0 ? text.length : next;
}

function idAt(text: string, at: number): string {
  const space = text.indexOf(TIME, at);
  return text.slice(at + 1, space < 0 ? nextEntry(text, at) : Math.min(space, nextEntry(text, at)));
}

/** The time of the entry starting at `at` (NaN when unreadable: then it counts as expired). */
function timeOf(text: string, at: number): number {
  const end = nextEntry(text, at);
  const space = text.indexOf(TIME, at);
  return space < 0 || space > end ? NaN : parseInt(text.slice(space + 1, end), 36);
}
