// Lint rules. Besides typescript-eslint's strict type-checked set, the folder rules keep the
// dependency arrows of STYLE.md: the Raft core is pure (no I/O, no clock, no randomness) and only
// storage/file_io.ts touches node:fs among the storage modules.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';

const ioModules = ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'net', 'node:net', 'zeromq',
  'lmdb', 'child_process', 'node:child_process', 'timers', 'node:timers', 'crypto', 'node:crypto'];

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'data/**', 'src/protocol/generated/**', 'eslint.config.js'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      'no-restricted-exports': ['error', { restrictDefaultExports: { direct: true, named: true } }],
      '@typescript-eslint/consistent-type-imports': 'error',
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true, allowBoolean: true, allowNullish: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-floating-promises': ['error', { allowForKnownSafeCalls: [
        { from: 'package', name: ['describe', 'it', 'test', 'suite'], package: 'node:test' }] }],
      'max-len': ['error', { code: 120, ignoreUrls: true, ignoreStrings: true, ignoreTemplateLiterals: true }],
    },
  },
  {
    files: ['raft/core/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ioModules, patterns: ['node:*', '../../src/*', '../../storage/*'] }],
      'no-restricted-globals': ['error', 'Date', 'setTimeout', 'setInterval', 'setImmediate', 'process', 'performance'],
      'no-restricted-properties': ['error', { object: 'Math', property: 'random', message: 'Use the injected Prng.' }],
    },
  },
  {
    files: ['storage/**/*.ts'],
    ignores: ['storage/file_io.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: ['fs', 'node:fs', 'fs/promises', 'node:fs/promises', 'zeromq'],
        patterns: ['../src/*'] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: {
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
);
