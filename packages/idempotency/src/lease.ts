import type { AbortScope, Clock } from '@bulwark/core';
import { IdempotencyLeaseLostError } from './errors.js';
import type { Awaitable } from './store.js';

/** What the renewer needs from its policy. */
export interface LeaseOwner {
  renew(key: string, token: number): Awaitable<boolean>;
  renewed(key: string, token: number): void;
  /** A newer claim holds the key: this call's token is stale. */
  lost(key: string, token: number): void;
  /** The store did not answer; the lease is tried again at the next tick. */
  renewFailed(key: string, token: number, error: unknown): void;
}

/** The lease of one running call. */
export interface Lease {
  readonly key: string;
  readonly token: number;
  readonly scope: AbortScope;
  renewing: boolean;
  active: boolean;
}

/**
 * Keeps the leases of a policy's running calls alive, so a slow call is not taken over. One
 * 'call' timer for all of them, every `everyMs`, armed while a call runs and cancelled when the
 * last one settles: a call costs no timer of its own. A lease found lost aborts its call's
 * signal with `IdempotencyLeaseLostError`.
 */
export class LeaseRenewer {
  private readonly leases = new Set<Lease>();
  private cancel: (() => void) | undefined;

  constructor(
    private readonly owner: LeaseOwner,
    private readonly clock: Clock,
    private readonly everyMs: number,
  ) {}

  start(key: string, token: number, scope: AbortScope): Lease {
    const lease: Lease = {
      key,
      token,
      scope,
      renewing: false,
      active: true,
    };
    this.leases.add(lease);
    this.cancel ??= this.clock.setTimer(this.tick, this.everyMs, 'call');
    return lease;
  }

  stop(lease: Lease): void {
    lease.active = false;
    this.leases.delete(lease);
    if (this.leases.size === 0 && this.cancel !== undefined) {
      this.cancel();
      this.cancel = undefined;
    }
  }

  private readonly tick = (): void => {
    // Every lease at every tick, so none goes longer than everyMs without a renewal.
    for (const lease of this.leases) {
      if (!lease.renewing) this.renew(lease);
    }
    this.cancel =
      this.leases.size > 0 ? this.clock.setTimer(this.tick, this.everyMs, 'call') : undefined;
  };

  private renew(lease: Lease): void {
    lease.renewing = true;
    const { owner } = this;
    const { key, token } = lease;
    new Promise<boolean>((resolve) => resolve(owner.renew(key, token))).then(
      (ok) => {
        lease.renewing = false;
        if (!lease.active) return;
        if (ok) {
          owner.renewed(key, token);
          return;
        }
        this.stop(lease);
        owner.lost(key, token);
        lease.scope.abort(new IdempotencyLeaseLostError(undefined, { token }));
      },
      (error: unknown) => {
        lease.renewing = false;
        if (lease.active) owner.renewFailed(key, token, error);
      },
    );
  }
}
