import type { ConfabClient, Message, SendAck } from '@confab/sdk';
import { describe, expect, it } from 'vitest';
import { Device, Ledger, checkDelivered } from '../support/delivery-ledger.js';

/*
 * The fault suites are only as good as their check. This shows, without any
 * server, that the check reports each kind of violation it exists for.
 */

const noClient = { on: () => () => undefined, getSyncState: () => ({ cursor: null, have: {} }) } as unknown as ConfabClient;
const device = (name: string) => new Device(name, `u_${name}`, 'token', noClient);
const ack = (seq: number, duplicate = false): SendAck => ({ channelId: 'c_1', seq, createdAt: 0, duplicate, clientId: '' });
const msg = (seq: number, clientId: string, text = clientId): Message => ({ channelId: 'c_1', seq, senderId: 'u_a', clientId, kind: 'text', text, createdAt: 0 });

function ledgerOf(d: Device, ...acks: [clientId: string, seq: number][]): Ledger {
  const ledger = new Ledger();
  for (const [clientId, seq] of acks) ledger.recordAck(d, 'c_1', clientId, clientId, ack(seq));
  return ledger;
}

describe('the delivery invariant check', () => {
  const a = device('a');

  it('accepts a history that holds exactly the acknowledged messages in order', () => {
    expect(ledgerOf(a, ['x', 1], ['y', 2]).checkStored('c_1', [msg(1, 'x'), msg(2, 'y')])).toEqual([]);
  });

  it('reports a lost, a doubled, a moved and a foreign message, a gap, and a device order broken', () => {
    const ledger = ledgerOf(a, ['x', 1], ['y', 2], ['z', 3]);
    expect(ledger.checkStored('c_1', [msg(1, 'x'), msg(2, 'y')]).join('\n')).toMatch(/z .*missing from history/);
    expect(ledger.checkStored('c_1', [msg(1, 'x'), msg(2, 'y'), msg(3, 'z'), msg(4, 'y')]).join('\n')).toMatch(/client id y stored 2 times/);
    expect(ledger.checkStored('c_1', [msg(1, 'x'), msg(2, 'z'), msg(3, 'y')]).join('\n')).toMatch(/acknowledged as seq 3 but is stored as seq 2[\s\S]*out of order/);
    expect(ledger.checkStored('c_1', [msg(1, 'x'), msg(2, 'y'), msg(3, 'z'), msg(4, 'w')]).join('\n')).toMatch(/never sent by this test/);
    expect(ledger.checkStored('c_1', [msg(1, 'x'), msg(2, 'y'), msg(4, 'z')]).join('\n')).toMatch(/gap or repeat/);
    expect(ledger.checkStored('c_1', [msg(1, 'x'), msg(2, 'y'), msg(3, 'z', 'other')]).join('\n')).toMatch(/other text/);
  });

  it('reports a device that missed, repeated or reordered a message, and accepts one that holds each once in order', () => {
    const history = [msg(1, 'x'), msg(2, 'y'), msg(3, 'z')];
    const holding = (...seqs: number[]) => {
      const d = device('d');
      d.log.set('c_1', seqs.map((s) => history[s - 1]!));
      return d;
    };
    expect(checkDelivered(holding(1, 2, 3), 'c_1', history)).toEqual([]);
    expect(checkDelivered(holding(1, 3), 'c_1', history)).toHaveLength(1);
    expect(checkDelivered(holding(1, 2, 2, 3), 'c_1', history)).toHaveLength(1);
    expect(checkDelivered(holding(2, 1, 3), 'c_1', history)).toHaveLength(1);
    expect(checkDelivered(holding(1, 2, 3, 3), 'c_1', history)).toHaveLength(1);
    const late = holding(3);
    late.from.set('c_1', 2);
    expect(checkDelivered(late, 'c_1', history)).toEqual([]);
  });

  it('counts sends that never settle and sends that were refused', async () => {
    const ledger = new Ledger();
    const stuck = { ...noClient, send: () => new Promise<never>(() => undefined) } as unknown as ConfabClient;
    const refusing = { ...noClient, send: () => Promise.reject(new Error('not_member')) } as unknown as ConfabClient;
    ledger.send(new Device('s', 'u_s', 't', stuck), 'c_1', 'hello');
    ledger.send(new Device('r', 'u_r', 't', refusing), 'c_1', 'hello');
    const problems = await ledger.settle(100);
    expect(problems.join('\n')).toMatch(/1 of 2 sends neither acknowledged nor refused/);
    expect(problems.join('\n')).toMatch(/refused: Error: not_member/);
  });
});
