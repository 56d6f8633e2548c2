export type { TimeoutOptions } from './options.js';
export { type TimeoutPolicy, timeout } from './timeout.js';
