#!/usr/bin/env node
// The `registry-edge` command. It runs the TypeScript sources through tsx, so that `npx registry-edge`
// works straight after `npm ci`, with no build step to forget.
require('tsx/cjs/api').register();
require('../cli/main.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
