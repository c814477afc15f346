import { describeBrokerContract } from '../../realtime/broker.contract.js';
import { MemoryBroker } from './memory-broker.js';

// One process is one node and cannot crash apart: the multi-node cases do not apply.
describeBrokerContract('MemoryBroker', async () => {
  const broker = new MemoryBroker();
  return { brokers: [broker], cleanup: () => broker.close() };
}, { nodes: 1, crash: false });
