export { defaultLevels, type LogLevel } from './levels.js';
export {
  type LogPolicyEventsOptions,
  logPolicyEvents,
  type PinoLike,
} from './log-policy-events.js';
