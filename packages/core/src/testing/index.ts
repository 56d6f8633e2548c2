export { type ManualClock, manualClock } from './manual-clock.js';
export { type Deferred, deferred, Tracked, track } from './promises.js';
