import { describe, expect, it } from 'vitest';
import { CloseCode } from '@confab/protocol';
import type { Session } from '../accounts/accounts-service.js';
import type { ClientSocket, OutboundFrame } from './client-socket.js';
import { ConnectionRegistry } from './connection-registry.js';
import { Gateway, originAllowed, parseOrigins, type GatewayDeps } from './gateway.js';

class FakeSocket implements ClientSocket {
  readonly written: OutboundFrame[] = [];
  closedWith: number | undefined;
  bufferedAmount = 0;
  get isOpen(): boolean {
    return this.closedWith === undefined;
  }
  writeFrame(frame: OutboundFrame): void {
    this.written.push(frame);
  }
  shutdown(code: number): void {
    this.closedWith = code;
  }
}

function session(userId: string, deviceId: string): Session {
  return {
    user: { id: userId, username: userId, displayName: userId, createdAt: 0, lastSeen: null },
    device: { id: deviceId, userId, name: 'test', platform: 'test', createdAt: 0, lastActiveAt: 0 },
  };
}

function gateway(registry = new ConnectionRegistry()): Gateway {
  const quiet = () => {};
  const deps = {
    accounts: { authenticate: async () => null },
    presence: { connected: async () => {}, disconnected: async () => {}, heartbeat: quiet },
    registry,
    routing: { addLocalUser: async () => {}, removeLocalUser: quiet },
    blockRelations: async () => [],
    log: { warn: quiet, error: quiet },
    metrics: { connectionOpened: quiet, connectionClosed: quiet, bytesWritten: quiet, sendAck: quiet },
    config: { nodeId: 'n', heartbeatMs: 1_000, presenceTimeoutMs: 3_000, maxOutboundBytes: 1 << 20, maxGroupMembers: 100, allowedOrigins: [], publicUrl: '', maxConnectionsPerUser: 0, trustProxy: false },
    now: Date.now,
  } as unknown as GatewayDeps;
  return new Gateway(deps);
}

describe('Gateway', () => {
  it('closes a socket that opens just after its device was logged out (admitted before the logout)', async () => {
    const registry = new ConnectionRegistry();
    const g = gateway(registry);
    try {
      g.deviceRevoked('d_1');
      const late = new FakeSocket();
      g.open(late, session('u_1', 'd_1'));
      expect(late.closedWith).toBe(CloseCode.SESSION_REVOKED);
      // Another device of the same user is not affected, and a device logged out later closes at once.
      const other = new FakeSocket();
      g.open(other, session('u_1', 'd_2'));
      await new Promise((r) => setTimeout(r, 0));
      expect(other.closedWith).toBeUndefined();
      g.deviceRevoked('d_2');
      expect(other.closedWith).toBe(CloseCode.SESSION_REVOKED);
    } finally {
      g.close();
    }
  });
});

describe('originAllowed', () => {
  const allowed = parseOrigins('https://app.example.com, https://x.example.org:8443/ignored/path');

  it('lets non-browser clients (no Origin), the server\'s own origin and allowed origins through', () => {
    expect(allowed).toEqual(['https://app.example.com', 'https://x.example.org:8443']);
    expect(originAllowed(undefined, 'chat.local:8080', allowed, '')).toBe(true);
    expect(originAllowed('http://chat.local:8080', 'chat.local:8080', allowed, '')).toBe(true);
    expect(originAllowed('http://CHAT.local:8080', 'Chat.Local:8080', allowed, '')).toBe(true);
    expect(originAllowed('https://app.example.com', 'chat.local:8080', allowed, '')).toBe(true);
    expect(originAllowed('https://x.example.org:8443', 'chat.local', allowed, '')).toBe(true);
    expect(originAllowed('https://chat.example.com', 'internal:8080', allowed, 'https://chat.example.com/')).toBe(true);
    expect(originAllowed('https://anything.test', undefined, ['*'], '')).toBe(true);
  });

  it('refuses every other origin, including look-alikes and unparsable ones', () => {
    for (const origin of ['https://evil.test', 'http://app.example.com', 'https://app.example.com.evil.test', 'https://x.example.org', 'null', '', 'garbage']) {
      expect(originAllowed(origin, 'chat.local:8080', allowed, '')).toBe(false);
    }
    expect(originAllowed('http://chat.local:8081', 'chat.local:8080', [], '')).toBe(false);
    expect(originAllowed('http://chat.local:8080', undefined, [], '')).toBe(false);
  });
});
