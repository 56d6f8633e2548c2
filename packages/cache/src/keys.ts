/** Keys and tags are non-empty strings: anything else is a bug at the call site, not a miss. */
export function checkKey(where: string, key: unknown): string {
  if (typeof key !== 'string' || key.length === 0) throw keyError(where, key);
  return key;
}

export function keyError(where: string, key: unknown): TypeError {
  const shown = typeof key === 'string' ? '""' : key === null ? 'null' : typeof key;
  return new TypeError(`${where}: key must be a non-empty string, got ${shown}`);
}

export function checkTag(where: string, tag: unknown): string {
  if (typeof tag !== 'string' || tag.length === 0) {
    const shown = typeof tag === 'string' ? '""' : tag === null ? 'null' : typeof tag;
    throw new TypeError(`${where}: a tag must be a non-empty string, got ${shown}`);
  }
  return tag;
}

export function checkTags(where: string, tags: unknown): readonly string[] | undefined {
  if (tags === undefined) return undefined;
  if (!Array.isArray(tags)) {
    throw new TypeError(`${where}: tags must be an array of strings, got ${typeof tags}`);
  }
  for (const tag of tags) checkTag(where, tag);
  return tags.length === 0 ? undefined : (tags as readonly string[]);
}
