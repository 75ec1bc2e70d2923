// Bridge from serverless.yml (and regional/serverless.yml) to the TypeScript stack builders: osls resolves
// `${file(tools/stacks/serverless.cjs):main.functions}` by calling `main` with the command line's options.
// tsx compiles the TypeScript on the fly, as bin/registry-edge.js does.
'use strict';
require('tsx/cjs/api').register();
const { ciRoleVariables, mainVariables, regionalVariables } = require('./variables.ts');

// osls calls these once per `${file(...)}` reference; build each stack once per process.
const memo = new Map();
const once = (key, build) => {
  if (!memo.has(key)) memo.set(key, build());
  return memo.get(key);
};

module.exports = {
  main: ({ options }) => once(`main:${options.stage}:${options.region}`, () => mainVariables({ options })),
  ciRole: ({ options }) => once(`ciRole:${options.stage}`, () => ciRoleVariables({ options })),
  regional: ({ options }) => once(`regional:${options.stage}:${options.region}`, () => regionalVariables({ options })),
};
