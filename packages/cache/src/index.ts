export { CacheAside, type CacheSetOptions, cacheAside } from './cache-aside.js';
export { checkKey, checkTag, checkTags } from './keys.js';
export { MemoryCacheStore, memoryCacheStore } from './memory-store.js';
export type {
  BackoffOption,
  CacheAsideOptions,
  MemoryCacheStoreOptions,
  TagsOption,
  WriteBehindOptions,
  WriteThroughOptions,
} from './options.js';
export type { CacheStats } from './stats.js';
export type { CacheEntry, CacheStore, MaybePromise } from './store.js';
export { WriteBehind, type WriteBehindSetOptions, writeBehind } from './write-behind.js';
export { WriteThrough, type WriteThroughSetOptions, writeThrough } from './write-through.js';
