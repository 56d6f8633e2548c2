import { IdempotencyInProgressError, type ResilienceErrorOptions } from '@bulwark/core';

/**
 * This call's claim was taken over after its lease expired (the process stalled longer than
 * `leaseMs`), so its outcome was not recorded: the newer owner's wins. It is an
 * `IdempotencyInProgressError` (code `IDEMPOTENCY_IN_PROGRESS`, HTTP 409): the client retries
 * and gets the recorded result, or waits while the newer owner runs.
 */
export class IdempotencyLeaseLostError extends IdempotencyInProgressError {
  /** The stale fencing token this call held. */
  readonly token: number;

  constructor(
    message = 'The lease on this idempotency key expired and another call took it over; this outcome was not recorded',
    options?: ResilienceErrorOptions & { token?: number },
  ) {
    super(message, options);
    this.token = options?.token ?? 0;
  }
}
