#!/usr/bin/env bash
# A service as a user makes it: the packed @bulwark tarballs and ioredis $1 installed in a fresh
# app in $2, which must type-check strictly. Leaves the app there (its ioredis serves a test run).
set -euo pipefail
range=$1 app=$2
repo=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$app/tarballs"
for pkg in core circuit-breaker rate-limit idempotency cache redis; do
  (cd "$repo/packages/$pkg" && npm pack --silent --pack-destination "$app/tarballs" >/dev/null)
done
cp "$repo/.ci/consumer/consumer.ts" "$repo/.ci/consumer/tsconfig.json" "$app/"
cd "$app"
printf '{ "name": "consumer", "private": true, "type": "module" }\n' > package.json
ts=$(node -p "require('$repo/node_modules/typescript/package.json').version")
types=$(node -p "require('$repo/node_modules/@types/node/package.json').version")
npm install --no-audit --no-fund --silent "ioredis@$range" "typescript@$ts" "@types/node@$types" ./tarballs/*.tgz
echo "ioredis $(node -p "require('ioredis/package.json').version"): $(npx tsc -p tsconfig.json && echo 'the consumer type-checks')"
