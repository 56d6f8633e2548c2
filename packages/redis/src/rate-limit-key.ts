// Characters that cannot go into a hash tag as they are: braces would end or open the tag,
// '%' starts an escape, and a lone UTF-16 surrogate has no UTF-8 form (it would turn into
// U+FFFD, and two different keys into one).
const NEEDS_ESCAPE = /[%{}\uD800-\uDFFF]/;
const ESCAPED = /[%{}]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function escapeChar(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x80
    ? `%${code.toString(16).toUpperCase()}`
    : `%u${code.toString(16).toUpperCase()}`;
}

/**
 * The Redis key of a bucket: `prefix{key}`. The braces make the user's key the hash tag, so
 * everything of one bucket lands on one Redis Cluster slot, and different users spread over
 * the cluster. Inside the tag, `%`, `{`, `}` and lone surrogates are %-escaped; the mapping is
 * one to one, so two user keys never share a bucket.
 */
export function bucketKey(prefix: string, key: string): string {
  return `${prefix}{${NEEDS_ESCAPE.test(key) ? key.replace(ESCAPED, escapeChar) : key}}`;
}
