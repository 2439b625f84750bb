import { gzipSync } from 'node:zlib';
import { defineConfig, type Plugin } from 'vite';

/** The dashboard must load fast: the build prints its gzipped size and fails past the budget. */
const BUDGET_KIB = 300;

function bundleBudget(): Plugin {
  return {
    name: 'chronos-bundle-budget',
    apply: 'build',
    generateBundle(_options, bundle) {
      let total = 0;
      for (const file of Object.values(bundle)) {
        const source = file.type === 'chunk' ? file.code : file.source;
        total += gzipSync(typeof source === 'string' ? Buffer.from(source) : Buffer.from(source)).length;
      }
      const kib = total / 1024;
      console.log(`web dashboard: ${kib.toFixed(1)} KiB gzipped in all (budget ${BUDGET_KIB} KiB)`);
      if (kib > BUDGET_KIB) this.error(`the web dashboard is ${kib.toFixed(1)} KiB gzipped, over its budget of ${BUDGET_KIB} KiB`);
    },
  };
}

export default defineConfig({
  root: import.meta.dirname,
  base: '/',
  // React's automatic JSX runtime, compiled by Vite's own transformer: no plugin needed to build.
  oxc: { jsx: { runtime: 'automatic' } },
  build: {
    outDir: '../dist/web',
    emptyOutDir: true,
    reportCompressedSize: false,
    chunkSizeWarningLimit: 1024,
    rolldownOptions: {
      // react-router marks its modules "use client" for React Server Components, which a plain SPA does not use.
      onLog: (level, log, handler) => (log.code === 'MODULE_LEVEL_DIRECTIVE' ? undefined : handler(level, log)),
    },
  },
  plugins: [bundleBudget()],
  // `npm run web:dev`: the dashboard with hot reload, against a Chronos on :3000 (npm run up).
  server: { proxy: { '/api': 'http://127.0.0.1:3000' } },
});
