import { createHash } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { build, defineConfig, type LogLevel, type Plugin, type Rollup } from 'vite';

/** Files of public/ that the app shell needs offline (Vite copies them; they are not in the bundle). */
const PUBLIC_SHELL = ['/', '/index.html', '/manifest.webmanifest', '/icons/icon.svg', '/icons/icon-192.png', '/icons/icon-512.png', '/icons/icon-maskable-512.png'];

const webRoot = fileURLToPath(new URL('.', import.meta.url));
/** The service worker's source; bundled into sw.js with this build's cache name and file list. */
const SERVICE_WORKER_ENTRY = fileURLToPath(new URL('./src/sw/service-worker.ts', import.meta.url));

/** Bundles the service worker into one classic script (service workers as modules are not everywhere yet). */
async function bundleServiceWorker(cacheName: string, files: string[], logLevel: LogLevel): Promise<string> {
  const result = await build({
    configFile: false,
    root: webRoot,
    // The outer build reports; this one only speaks up when something is wrong.
    logLevel: logLevel === 'silent' ? 'silent' : 'warn',
    define: { __CONFAB_CACHE__: JSON.stringify(cacheName), __CONFAB_PRECACHE__: JSON.stringify(files) },
    resolve: { conditions: ['@confab/source'] },
    build: {
      write: false,
      copyPublicDir: false,
      emptyOutDir: false,
      minify: false,
      sourcemap: false,
      target: 'es2022',
      modulePreload: false,
      reportCompressedSize: false,
      rollupOptions: { input: SERVICE_WORKER_ENTRY, output: { format: 'iife', entryFileNames: 'sw.js' } },
    },
  });
  const outputs = (Array.isArray(result) ? result : [result]) as Rollup.RollupOutput[];
  const chunk = outputs.flatMap((o) => o.output).find((item): item is Rollup.OutputChunk => item.type === 'chunk' && item.isEntry);
  if (!chunk) throw new Error('the service worker bundle is empty');
  return `// Generated at build time from src/sw/service-worker.ts: precaches this build's app shell, shows notifications.\n${chunk.code}`;
}

/**
 * Emits sw.js listing every file of this build. The cache name is a hash of
 * the files and their contents, so each deploy gets a fresh cache and the
 * previous one is deleted when the new worker activates.
 */
function serviceWorker(): Plugin {
  let logLevel: LogLevel = 'info';
  return {
    name: 'confab-service-worker',
    apply: 'build',
    enforce: 'post',
    configResolved(config) {
      logLevel = config.logLevel ?? 'info';
    },
    async generateBundle(_options, bundle) {
      const hash = createHash('sha256');
      const built: string[] = [];
      for (const [fileName, item] of Object.entries(bundle).sort(([a], [b]) => (a < b ? -1 : 1))) {
        if (fileName.endsWith('.map')) continue; // source maps are for debugging, not for starting offline
        built.push(`/${fileName}`);
        hash.update(fileName).update(item.type === 'chunk' ? item.code : item.source);
      }
      const files = [...new Set([...PUBLIC_SHELL, ...built])];
      hash.update(files.join('\n'));
      const cacheName = `confab-shell-${hash.digest('hex').slice(0, 16)}`;
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: await bundleServiceWorker(cacheName, files, logLevel) });
    },
  };
}

/**
 * A production build even when the inherited NODE_ENV says otherwise: test
 * runners set NODE_ENV=test, and Vite would then bundle React's development
 * build and leave the service worker out (`import.meta.env.PROD` is false).
 * Vite reads NODE_ENV after loading this file; it is restored once the build is done.
 */
function productionBuild(): Plugin {
  const previous = process.env.NODE_ENV;
  const restore = () => {
    if (previous === undefined) delete process.env.NODE_ENV;
    else process.env.NODE_ENV = previous;
  };
  process.env.NODE_ENV = 'production';
  return {
    name: 'confab-production-build',
    apply: 'build',
    buildEnd(error) {
      if (error) restore();
    },
    closeBundle: restore,
  };
}

// `npm run dev:web` serves the app with hot reload on :5173 and proxies the
// API and WebSocket to a Confab server on :8080 (`npm run dev` in another shell).
export default defineConfig(({ command, mode }) => ({
  plugins: [react(), serviceWorker(), ...(command === 'build' && mode === 'production' ? [productionBuild()] : [])],
  resolve: { conditions: ['@confab/source'] },
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: true, target: 'es2022' },
  server: {
    proxy: {
      '/v1': { target: 'http://localhost:8080', ws: true },
      '/healthz': 'http://localhost:8080',
    },
  },
}));
