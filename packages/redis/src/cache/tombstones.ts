/** Where the tokens of locks given up before their acquire arrived wait: the lock's hash tag. */
export function tombstonesOf(lockKey: string): string {
  return `${lockKey}:abandoned`;
}
