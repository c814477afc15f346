export { createServer, type ConfabServer, type Overrides } from './server.js';
export { loadConfig, SETTINGS, ConfigError, type Config } from './config.js';
export type { Store } from './store/store.js';
export type { Broker, BusEvent } from './realtime/broker.js';
export type { PresenceTracker } from './presence/presence-tracker.js';
