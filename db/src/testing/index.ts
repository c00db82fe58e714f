// `@redred/db/testing`: real databases and services for tests, never mocks.
export * from './tempDatabase.ts';
export * from './dialects.ts';
export * from './postgres.ts';
export * from './service.ts';
