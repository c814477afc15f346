import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Config } from '../../src/config.js';
import { http } from './http.js';
import { generateP8Key, generateServiceAccountKey, startApnsService, startFcmService, type ApnsService, type FcmService } from './push-http2.js';
import { startWebPushService, type ReceivedPush, type WebPushService, type WebPushSubscription } from './push-services.js';

/*
 * The three push services on loopback (see push-services.ts and
 * push-http2.ts), with the settings that point a Confab server at them: the
 * services' self-signed certificates as PUSH_CA_FILE, a generated APNs .p8
 * key and FCM service-account file, and 127.0.0.1 allowed as a Web Push host.
 */

export const APNS_TEAM = 'TEAM123456';
export const APNS_KEY_ID = 'KEY1234567';
export const APNS_BUNDLE = 'org.confab.app';
const FCM_PROJECT = 'confab-test';
const FCM_EMAIL = 'push@confab-test.iam.gserviceaccount.com';

export interface PushEnv {
  webPush: WebPushService;
  apns: ApnsService;
  fcm: FcmService;
  /** Server settings (in-process servers). */
  config: Partial<Config>;
  /** The same as environment variables (server processes). */
  env: Record<string, string>;
  close(): Promise<void>;
}

export async function startPushEnv(): Promise<PushEnv> {
  const dir = mkdtempSync(join(tmpdir(), 'confab-push-'));
  const webPush = await startWebPushService();
  const p8 = generateP8Key();
  const apns = await startApnsService({ teamId: APNS_TEAM, keyId: APNS_KEY_ID, bundleId: APNS_BUNDLE, publicKey: p8.publicKey });
  const account = await generateServiceAccountKey();
  const fcm = await startFcmService({ projectId: FCM_PROJECT, clientEmail: FCM_EMAIL, publicKey: account.publicKey });

  const caFile = join(dir, 'ca.pem');
  writeFileSync(caFile, `${webPush.ca}\n${apns.ca}\n`);
  const keyFile = join(dir, 'apns.p8');
  writeFileSync(keyFile, p8.privateKeyPem, { mode: 0o600 });
  const accountFile = join(dir, 'fcm.json');
  writeFileSync(
    accountFile,
    JSON.stringify({ type: 'service_account', project_id: FCM_PROJECT, client_email: FCM_EMAIL, private_key: account.privateKeyPem, token_uri: fcm.tokenUri }),
    { mode: 0o600 },
  );

  const config: Partial<Config> = {
    webPushHosts: '127.0.0.1',
    pushCaFile: caFile,
    apnsKeyFile: keyFile,
    apnsKeyId: APNS_KEY_ID,
    apnsTeamId: APNS_TEAM,
    apnsBundleId: APNS_BUNDLE,
    apnsUrl: apns.url,
    fcmServiceAccountFile: accountFile,
    fcmUrl: fcm.url,
    pushAckGraceMs: 400,
    pushCoalesceMs: 1_000,
    pushPollMs: 20,
  };
  const env: Record<string, string> = {
    WEB_PUSH_HOSTS: '127.0.0.1',
    PUSH_CA_FILE: caFile,
    APNS_KEY_FILE: keyFile,
    APNS_KEY_ID: APNS_KEY_ID,
    APNS_TEAM_ID: APNS_TEAM,
    APNS_BUNDLE_ID: APNS_BUNDLE,
    APNS_URL: apns.url,
    FCM_SERVICE_ACCOUNT_FILE: accountFile,
    FCM_URL: fcm.url,
    PUSH_ACK_GRACE_MS: '400',
    PUSH_COALESCE_MS: '1000',
    PUSH_POLL_MS: '20',
  };
  return {
    webPush,
    apns,
    fcm,
    config,
    env,
    async close() {
      await Promise.all([webPush.close(), apns.close(), fcm.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Registers a fresh Web Push subscription for the device holding `token`. */
export async function registerWebPush(url: string, token: string, service: WebPushService): Promise<WebPushSubscription> {
  const sub = service.subscribe();
  const res = await http(url, 'PUT', '/v1/devices/current/push', { token, body: { kind: 'webpush', ...sub } });
  if (res.status !== 204) throw new Error(`registration refused: ${res.status} ${JSON.stringify(res.body)}`);
  return sub;
}

export async function registerToken(url: string, token: string, kind: 'apns' | 'fcm', deviceToken: string): Promise<void> {
  const res = await http(url, 'PUT', '/v1/devices/current/push', { token, body: { kind, token: deviceToken } });
  if (res.status !== 204) throw new Error(`registration refused: ${res.status} ${JSON.stringify(res.body)}`);
}

/** Pushes the Web Push service received for one subscription. */
export function pushesTo(service: WebPushService, sub: WebPushSubscription): (ReceivedPush & { payload: Record<string, unknown> })[] {
  const path = new URL(sub.endpoint).pathname;
  return service.received.filter((p) => p.path === path) as (ReceivedPush & { payload: Record<string, unknown> })[];
}
