import { describePresenceContract } from '../../presence/presence-tracker.contract.js';
import { MemoryPresenceTracker } from './memory-presence-tracker.js';

// One process is one node, and its connections never expire (the gateway closes silent sockets).
describePresenceContract('MemoryPresenceTracker', async () => {
  const tracker = new MemoryPresenceTracker();
  return { trackers: [tracker], supportsExpiry: false, cleanup: () => tracker.close() };
}, { nodes: 1, expiry: false });
