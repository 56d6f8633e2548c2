/** Where the nonces of claims abandoned before they reached Redis wait: the record's hash tag. */
export function abandonedKey(redisKey: string): string {
  return `${redisKey}:abandoned`;
}
