import { HttpRateLimit } from '@bulwark/http';
import { tokenBucket } from '@bulwark/rate-limit';
import { describe, expect, it } from 'vitest';

interface Req {
  ip: string;
}
const ipOf = (req: Req) => req.ip;

describe('HttpRateLimit.decideNow', () => {
  it('decides within the request’s own turn when the limiter’s store can', () => {
    const limit = new HttpRateLimit<Req>(
      'rateLimit',
      { limiter: tokenBucket({ capacity: 1, refillPerSecond: 1 }) },
      ipOf,
    );
    expect(limit.decideNow({ ip: '10.0.0.1' })).toMatchObject({ allowed: true });
    expect(limit.decideNow({ ip: '10.0.0.1' })).toMatchObject({ allowed: false });
    expect(limit.decideNow({ ip: '10.0.0.2' })).toMatchObject({ allowed: true });
  });

  it('leaves the decision to decide when an option of the user’s must be awaited', () => {
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1 });
    const keyed = new HttpRateLimit<Req>(
      'rateLimit',
      { limiter, key: async (req) => req.ip },
      ipOf,
    );
    expect(keyed.decideNow({ ip: '10.0.0.1' })).toBeUndefined();
  });

  it('leaves the decision to decide when the store answers with a promise', () => {
    const store = { take: async () => ({}) as never };
    const limiter = tokenBucket({ capacity: 1, refillPerSecond: 1, store });
    const limit = new HttpRateLimit<Req>('rateLimit', { limiter }, ipOf);
    expect(limit.decideNow({ ip: '10.0.0.1' })).toBeUndefined();
  });
});
