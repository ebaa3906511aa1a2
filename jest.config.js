// Unit tests sit beside the code (src/**/*.spec.ts); integration and e2e tests in test/.
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test'],
  testMatch: ['**/*.spec.ts', '**/*.test.ts'],
  transform: {
    // Transpile only: `npm run typecheck` checks types once for the whole tree.
    '^.+\\.ts$': ['ts-jest', { isolatedModules: true, tsconfig: 'tsconfig.json' }],
  },
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 60000,
  // Two cores: one worker per core keeps PostgreSQL and the suites from starving each other.
  maxWorkers: 2,
};
