export { type BulkheadPolicy, type BulkheadRejectReason, bulkhead } from './bulkhead.js';
export type { BulkheadOptions } from './options.js';
