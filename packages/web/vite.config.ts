import { createHash } from 'node:crypto';
import react from '@vitejs/plugin-react';
import { defineConfig, type Plugin } from 'vite';

/** Files of public/ that the app shell needs offline (Vite copies them; they are not in the bundle). */
const PUBLIC_SHELL = ['/', '/index.html', '/manifest.webmanifest', '/icons/icon.svg', '/icons/icon-192.png', '/icons/icon-512.png', '/icons/icon-maskable-512.png'];

/** The service worker, given its cache name and the files to precache. */
function serviceWorkerSource(cacheName: string, files: string[]): string {
  return `// Generated at build time by vite.config.ts: precaches this build's app shell.
const CACHE = ${JSON.stringify(cacheName)};
const PRECACHE = ${JSON.stringify(files, null, 2)};
const SHELL = new Set(PRECACHE);

self.addEventListener('install', (event) => {
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

// Older builds' caches go once this one is in charge.
self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('confab-shell-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const request = event.request;
  if (request.method !== 'GET') return;
  const url = new URL(request.url);
  // The API (and its WebSocket) is live data: never answered from a cache.
  if (url.origin !== self.location.origin || url.pathname === '/v1' || url.pathname.startsWith('/v1/')) return;
  if (request.mode === 'navigate') {
    // Network first so a deploy shows at once; offline, the cached shell of this build.
    event.respondWith(fetch(request).catch(() => caches.match('/index.html', { cacheName: CACHE }).then((r) => r || Response.error())));
    return;
  }
  if (SHELL.has(url.pathname)) {
    // Built assets have content hashes in their names: a cached copy is always right.
    event.respondWith(caches.match(request, { cacheName: CACHE }).then((cached) => cached || fetch(request)));
  }
});
`;
}

/**
 * Emits sw.js listing every file of this build. The cache name is a hash of
 * the files and their contents, so each deploy gets a fresh cache and the
 * previous one is deleted when the new worker activates.
 */
function serviceWorker(): Plugin {
  return {
    name: 'confab-service-worker',
    apply: 'build',
    enforce: 'post',
    generateBundle(_options, bundle) {
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
      this.emitFile({ type: 'asset', fileName: 'sw.js', source: serviceWorkerSource(cacheName, files) });
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
