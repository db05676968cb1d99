/** @type {import('jest').Config} */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: { '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'es6' } }] },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/harness/global-setup.ts',
  setupFiles: ['<rootDir>/test/harness/setup-runtime.ts'],
  globalTeardown: '<rootDir>/test/harness/global-teardown.ts',
  modulePathIgnorePatterns: ['<rootDir>/.swarmflow/', '<rootDir>/dist/', '<rootDir>/packages/client/dist/'],
  // Two cores: suites that start servers must not all run at once.
  maxWorkers: 2,
  // A backstop only: each wait in a test has its own deadline (eventually(), 60 s) that says what it
  // waited for and what it saw. A test that waits twice must not be cut off, silently, by this one
  // on a loaded machine (CI's two cores run two suites at once).
  testTimeout: 240_000,
  // The Temporal native runtime keeps a handle open (sdk-typescript#928).
  forceExit: true,
};
