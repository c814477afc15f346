/** What the sender sees next to a message of theirs. */
export type MessageStatus = 'pending' | 'sent' | 'delivered' | 'read' | 'failed';

export interface Watermark {
  deliveredSeq: number;
  readSeq: number;
}

/**
 * Status of my committed message `seq`: read when every other member has read
 * up to it, delivered when every other member's device has received it, sent
 * otherwise. With nobody else to hear it (or members not known yet) it stays sent.
 */
export function committedStatus(seq: number, others: readonly string[], watermarks: Readonly<Record<string, Watermark>>): 'sent' | 'delivered' | 'read' {
  if (others.length === 0) return 'sent';
  let read = true;
  let delivered = true;
  for (const userId of others) {
    const w = watermarks[userId];
    if (!w) return 'sent';
    if (w.readSeq < seq) read = false;
    // Reading implies delivery, even if the delivered receipt was never seen.
    if (Math.max(w.deliveredSeq, w.readSeq) < seq) delivered = false;
  }
  return read ? 'read' : delivered ? 'delivered' : 'sent';
}

/** Watermarks only move forward: a late or repeated receipt must not move one back. */
export function raiseWatermark(current: Watermark | undefined, next: Watermark): Watermark {
  if (!current) return { deliveredSeq: Math.max(next.deliveredSeq, next.readSeq), readSeq: next.readSeq };
  const readSeq = Math.max(current.readSeq, next.readSeq);
  const deliveredSeq = Math.max(current.deliveredSeq, next.deliveredSeq, readSeq);
  if (readSeq === current.readSeq && deliveredSeq === current.deliveredSeq) return current;
  return { deliveredSeq, readSeq };
}
