import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AccountsService, Session } from '../accounts/accounts-service.js';
import { AppError } from '../errors.js';

const sessions = new WeakMap<FastifyRequest, Session>();

/**
 * Authenticates every request of this scope in `onRequest`, before the body
 * is read or validated: an anonymous caller never costs a parse.
 */
export function requireAuth(scope: FastifyInstance, accounts: AccountsService): void {
  scope.addHook('onRequest', async (request) => {
    const header = request.headers.authorization;
    const token = header?.startsWith('Bearer ') ? header.slice(7).trim() : undefined;
    const session = await accounts.authenticate(token);
    if (!session) throw new AppError('unauthorized');
    sessions.set(request, session);
  });
}

/** The session of a request that passed `requireAuth`. */
export function sessionOf(request: FastifyRequest): Session {
  const session = sessions.get(request);
  if (!session) throw new AppError('unauthorized');
  return session;
}
