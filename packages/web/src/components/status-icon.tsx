import type { MessageStatus } from '../lib/receipts.js';
import { AlertIcon, ClockIcon, DoubleTickIcon, TickIcon } from './icons.js';

const LABEL: Record<MessageStatus, string> = {
  pending: 'Sending',
  sent: 'Sent',
  delivered: 'Delivered',
  read: 'Read',
  failed: 'Not sent',
};

/** Clock, one tick, two ticks, two blue ticks; the word is there for screen readers and as a tooltip. */
export function StatusIcon({ status }: { status: MessageStatus }) {
  const Icon = status === 'pending' ? ClockIcon : status === 'sent' ? TickIcon : status === 'failed' ? AlertIcon : DoubleTickIcon;
  return (
    <span className={`status status-${status}`} title={LABEL[status]}>
      <Icon size={16} />
      <span className="sr-only">{LABEL[status]}</span>
    </span>
  );
}
