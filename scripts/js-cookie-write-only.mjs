import MagicString from 'magic-string';

/**
 * A rollup plugin for the bundles that carry their own copy of js-cookie (the script tags).
 *
 * js-cookie's API is one object, `Object.create({ set, get, remove, withAttributes,
 * withConverter }, { attributes, converter })`: a bundler cannot drop a method nobody calls
 * from it. segtag writes with `set` and `remove`, encodes and decodes with `converter`, and reads
 * the cookies itself (one read of `document.cookie` per task, src/browser/cookie-jar.ts), so this
 * removes `get`, `withAttributes` and `withConverter` from the object; the minifier then drops
 * the `get` function nothing references. The build fails if js-cookie's code no longer has this
 * shape (a new version), rather than shipping something untested.
 */
export function jsCookieWriteOnly() {
  const DROP = new Set(['get', 'withAttributes', 'withConverter']);
  return {
    name: 'js-cookie-write-only',
    transform(code, id) {
      if (!/[\\/]js-cookie[\\/]dist[\\/]js\.cookie\.mjs$/.test(id)) return null;
      const api = findApiObject(this.parse(code));
      const dropped = api?.properties.filter((p) => DROP.has(p.key?.name)) ?? [];
      if (dropped.length != DROP.size) this.error(`js-cookie-write-only: unexpected js-cookie code in ${id}`);
      const s = new MagicString(code);
      const { properties } = api;
      for (const [i, p] of properties.entries()) {
        // Each dropped property goes with the comma that follows it (`remove` is last: none does).
        if (DROP.has(p.key.name)) s.remove(p.start, properties[i + 1]?.start ?? p.end);
      }
      return { code: s.toString(), map: s.generateMap({ hires: true }) };
    },
  };
}

/** The first argument of the `Object.create(...)` call in `init`. */
function findApiObject(node) {
  if (!node || typeof node != 'object') return undefined;
  if (
    node.type == 'CallExpression' &&
    node.callee.type == 'MemberExpression' &&
    node.callee.object.name == 'Object' &&
    node.callee.property.name == 'create' &&
    node.arguments[0]?.type == 'ObjectExpression'
  )
    return node.arguments[0];
  for (const value of Object.values(node)) {
    const found = Array.isArray(value) ? value.map(findApiObject).find(Boolean) : findApiObject(value);
    if (found) return found;
  }
}
