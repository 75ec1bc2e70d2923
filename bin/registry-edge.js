#!/usr/bin/env node
// The `registry-edge` command. It runs the TypeScript sources through tsx, so that `npx registry-edge`
// works straight after `npm ci`, with no build step to forget.
// This machine runs Node 20; Lambda runs 22. The SDK's notice about 2027 releases is for us, not users.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
require('tsx/cjs/api').register();
require('../cli/main.ts')
  .main(process.argv)
  .then((code) => {
    process.exitCode = code;
  });
