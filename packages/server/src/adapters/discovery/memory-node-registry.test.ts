import { describeNodeRegistryContract } from '../../discovery/node-registry.contract.js';
import { MemoryNodeRegistry } from './memory-node-registry.js';

describeNodeRegistryContract('MemoryNodeRegistry', async (now) => ({ registry: new MemoryNodeRegistry(now), cleanup: async () => {} }));
