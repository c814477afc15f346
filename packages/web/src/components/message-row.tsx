import { memo } from 'react';
import { formatTime } from '../lib/format.js';
import type { MessageStatus } from '../lib/receipts.js';
import type { TimelineRow } from '../lib/timeline.js';
import { Avatar } from './avatar.js';
import { MessageText } from './message-text.js';
import { StatusIcon } from './status-icon.js';

interface MessageRowProps {
  row: TimelineRow;
  mine: boolean;
  /** For my messages only. */
  status: MessageStatus | null;
  /** The sender, written above the first of a run of group messages from someone else. */
  senderName: string;
  isGroup: boolean;
  /** Text of the day separator above this message, if it starts a day. */
  dayLabel: string | null;
  onRetry: (clientId: string) => void;
}

/** One message with its day separator; system messages are centred notes. */
export const MessageRow = memo(function MessageRow({ row, mine, status, senderName, isGroup, dayLabel, onRetry }: MessageRowProps) {
  const { entry, firstOfGroup, lastOfGroup } = row;
  const classes = ['msg-row', mine ? 'mine' : 'theirs', firstOfGroup && 'first', lastOfGroup && 'last'].filter(Boolean).join(' ');
  return (
    <div className={classes}>
      {dayLabel && (
        <div className="day-separator" data-testid="day-separator">
          <span>{dayLabel}</span>
        </div>
      )}
      {entry.kind === 'system' ? (
        <div className="system-message" data-testid="system-message" data-seq={entry.seq ?? ''}>
          {entry.text}
        </div>
      ) : (
        <>
          <div className="msg-line">
            {isGroup && !mine && <span className="msg-avatar">{lastOfGroup && <Avatar id={entry.senderId} name={senderName} size="small" />}</span>}
            <div className="bubble" data-testid="message" data-seq={entry.seq ?? ''} data-mine={mine} data-status={mine && status ? status : undefined}>
              {isGroup && !mine && firstOfGroup && (
                <div className="sender" aria-hidden="true">
                  {senderName}
                </div>
              )}
              <span className="sr-only">{mine ? 'You' : senderName}: </span>
              <MessageText text={entry.text} />
              <span className="meta">
                <time dateTime={new Date(entry.createdAt).toISOString()}>{formatTime(entry.createdAt)}</time>
                {mine && status && <StatusIcon status={status} />}
              </span>
            </div>
          </div>
          {status === 'failed' && entry.pending && (
            <div className="failed-line">
              <span>{entry.pending.error ?? 'Not sent.'}</span>
              <button type="button" className="link-button" onClick={() => onRetry(entry.pending!.clientId)}>
                Retry
              </button>
            </div>
          )}
        </>
      )}
    </div>
  );
});
