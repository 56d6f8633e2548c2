// Characters that cannot go into a hash tag as they are: braces would end or open the tag,
// '%' starts an escape, and a lone UTF-16 surrogate has no UTF-8 form (it would turn into
// U+FFFD, and two different ids into one key).
const NEEDS_ESCAPE = /[%{}\uD800-\uDFFF]/;
const ESCAPED = /[%{}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x80
    ? `%${code.toString(16).toUpperCase()}`
    : `%u${code.toString(16).toUpperCase()}`;
}

/**
 * `prefix{id}`: the id is the hash tag, so on Redis Cluster everything of one bucket, circuit or
 * record lands on one slot and different ids spread over the masters. Inside the tag, `%`, `{`,
 * `}` and lone surrogates are %-escaped; the mapping is one to one, so any id is safe and two
 * ids never share a key.
 */
export function hashTagKey(prefix: string, id: string): string {
  return `${prefix}{${NEEDS_ESCAPE.test(id) ? id.replace(ESCAPED, escapeChar) : id}}`;
}

/**
 * The key of `id` in a store: `prefix` + `kind` + `{id}`, so every key a script touches for one
 * id shares the id's hash tag (one Cluster slot), and two kinds (an entry and its lock, a tag
 * set) never collide.
 */
export function storeKey(prefix: string, kind: string, id: string): string {
  return hashTagKey(`${prefix}${kind}`, id);
}
