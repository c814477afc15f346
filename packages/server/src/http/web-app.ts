import { existsSync } from 'node:fs';
import { join } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance } from 'fastify';

/**
 * The Content-Security-Policy of the web app: only its own scripts, styles,
 * workers and connections (same-origin WebSocket included). Inline style
 * *attributes* are allowed because the virtualized message list positions
 * rows with them; inline <style> and <script> elements are not.
 */
export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src-elem 'self'",
  "style-src-attr 'unsafe-inline'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "worker-src 'self'",
  "manifest-src 'self'",
  "font-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

/** Security headers on every response: nothing here is ever meant to be sniffed, framed or leak a referrer. */
export function registerSecurityHeaders(app: FastifyInstance): void {
  app.addHook('onSend', async (_req, reply, payload) => {
    reply.header('X-Content-Type-Options', 'nosniff');
    reply.header('Referrer-Policy', 'no-referrer');
    reply.header('X-Frame-Options', 'DENY');
    reply.header('Cross-Origin-Opener-Policy', 'same-origin');
    const type = String(reply.getHeader('content-type') ?? '');
    if (type.startsWith('text/html')) reply.header('Content-Security-Policy', WEB_CSP);
    return payload;
  });
}

/**
 * Serves the built web client (packages/web/dist) at `/`. Hashed assets are
 * cached forever; the HTML shell, manifest and service worker are revalidated
 * on every load so a new deploy is picked up at once.
 */
export function registerWebApp(app: FastifyInstance, dir: string): boolean {
  if (!existsSync(join(dir, 'index.html'))) {
    app.get('/', async (_req, reply) =>
      reply
        .type('text/html; charset=utf-8')
        .send('<!doctype html><title>Confab</title><p>The Confab web client is not built. Run <code>npm run build</code>.</p>'),
    );
    return false;
  }
  void app.register(fastifyStatic, {
    root: dir,
    prefix: '/',
    index: ['index.html'],
    wildcard: true,
    cacheControl: false,
    setHeaders(res, path) {
      const immutable = path.includes(`${join(dir, 'assets')}`);
      res.setHeader('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    },
  });
  return true;
}
