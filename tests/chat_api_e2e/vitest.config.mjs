// Runs the end-to-end tests that ship inside @botpress/chat 0.5.5, unchanged, from
// node_modules. They import the client as '../src', which the package does not ship: the
// alias points that at the published build, so the tests exercise exactly what users install.
// API_URL (a bot's Chat API base URL) and ENCRYPTION_KEY come from the environment.
import { fileURLToPath } from 'node:url'
import { defineConfig } from 'vitest/config'

const packageDir = fileURLToPath(new URL('./node_modules/@botpress/chat/', import.meta.url))

export default defineConfig({
  resolve: {
    alias: [{ find: /^\.\.\/src$/, replacement: packageDir + 'dist/index.cjs' }],
  },
  test: {
    root: packageDir,
    include: ['e2e/**/*.test.ts'],
    exclude: [],
    testTimeout: 20_000,
    server: { deps: { inline: [/@botpress\/chat\/e2e/] } },
  },
})
