import type { Member } from '@confab/sdk';
import { useCallback, useMemo, useRef, useState } from 'react';
import { Virtuoso, type VirtuosoHandle } from 'react-virtuoso';
import { dayKey, formatDayLabel } from '../lib/format.js';
import { committedStatus, type MessageStatus, type Watermark } from '../lib/receipts.js';
import { buildRows, timelineEntries, type PendingSend, type TimelineRow } from '../lib/timeline.js';
import { useNow } from '../hooks/use-now.js';
import type { Timeline } from '../store/chat-store.js';
import { useChat, useStore } from '../store/store-context.js';
import { DownIcon } from './icons.js';
import { MessageRow } from './message-row.js';

interface MessageListProps {
  channelId: string;
  isGroup: boolean;
}

interface ListContext {
  loadingOlder: boolean;
  hasOlder: boolean;
}

/**
 * Virtuoso's index of the first loaded row. Prepending N older messages
 * lowers it by N, which keeps the rows on screen exactly where they were.
 */
const FIRST_INDEX = 1_000_000_000;
const NO_PENDING: readonly PendingSend[] = [];
const NO_WATERMARKS: Readonly<Record<string, Watermark>> = {};

/** A fixed height whatever it says, so toggling it never shifts the rows below. */
function ListHeader({ context }: { context: ListContext }) {
  return (
    <div className="list-header">
      {context.loadingOlder ? (
        <>
          <span className="spinner" aria-hidden="true" /> Loading older messages…
        </>
      ) : context.hasOlder ? null : (
        'This is the beginning of the conversation.'
      )}
    </div>
  );
}

function othersOf(members: readonly Member[] | undefined, peerId: string | undefined, me: string): string[] {
  if (members) return members.map((m) => m.userId).filter((id) => id !== me);
  return peerId ? [peerId] : [];
}

/** The conversation's messages, virtualized: only what is near the viewport is in the DOM. */
export function MessageList({ channelId, isGroup }: MessageListProps) {
  const timeline = useChat((s) => s.timelines[channelId]);
  if (!timeline || timeline.status === 'loading') {
    return (
      <div className="message-log pane-note" role="log" aria-label="Messages" aria-busy="true">
        <span className="spinner" aria-hidden="true" /> Loading messages…
      </div>
    );
  }
  if (timeline.status === 'error') return <TimelineError channelId={channelId} message={timeline.error} />;
  return <LoadedMessageList channelId={channelId} isGroup={isGroup} timeline={timeline} />;
}

function TimelineError({ channelId, message }: { channelId: string; message: string | null }) {
  const store = useStore();
  return (
    <div className="message-log pane-note" role="log" aria-label="Messages">
      <p>{message ?? 'Messages could not be loaded.'}</p>
      <button type="button" className="secondary-button" onClick={() => store.openChannel(channelId)}>
        Try again
      </button>
    </div>
  );
}

function LoadedMessageList({ channelId, isGroup, timeline }: MessageListProps & { timeline: Timeline }) {
  const store = useStore();
  const me = store.myId;
  const pending = useChat((s) => s.pending[channelId]) ?? NO_PENDING;
  const watermarks = useChat((s) => s.watermarks[channelId]) ?? NO_WATERMARKS;
  const members = useChat((s) => s.members[channelId]);
  const peerId = useChat((s) => s.channels[channelId]?.peer?.id);
  const users = useChat((s) => s.users);
  const now = useNow(60_000);
  const today = dayKey(now); // day labels ("Today") change at midnight, not every minute

  const virtuoso = useRef<VirtuosoHandle>(null);
  const [atBottom, setAtBottom] = useState(true);

  const rows = useMemo(() => buildRows(timelineEntries(timeline.messages, pending, me)), [timeline.messages, pending, me]);
  const others = useMemo(() => othersOf(members, peerId, me), [members, peerId, me]);

  // Read from the followOutput callback, which Virtuoso keeps from an earlier render.
  const lastRowRef = useRef<TimelineRow | undefined>(undefined);
  lastRowRef.current = rows.at(-1);

  const statusOf = useCallback(
    (row: TimelineRow): MessageStatus | null => {
      const { entry } = row;
      if (entry.senderId !== me || entry.kind !== 'text') return null;
      const p = entry.pending;
      if (p) return p.status === 'sent' && p.seq !== null ? committedStatus(p.seq, others, watermarks) : p.status;
      return committedStatus(entry.seq!, others, watermarks);
    },
    [me, others, watermarks],
  );

  const onRetry = useCallback((clientId: string) => store.retry(channelId, clientId), [store, channelId]);
  const context = useMemo<ListContext>(() => ({ loadingOlder: timeline.loadingOlder, hasOlder: timeline.hasOlder }), [timeline.loadingOlder, timeline.hasOlder]);

  const itemContent = useCallback(
    (_index: number, row: TimelineRow) => {
      const { entry } = row;
      const mine = entry.senderId === me;
      const sender = users[entry.senderId];
      return (
        <MessageRow
          row={row}
          mine={mine}
          status={statusOf(row)}
          senderName={sender?.displayName ?? sender?.username ?? '…'}
          isGroup={isGroup}
          dayLabel={row.showDay ? formatDayLabel(entry.createdAt, now) : null}
          onRetry={onRetry}
        />
      );
    },
    // `today`, not `now`: rows re-render when the date changes, not every minute.
    [me, users, statusOf, isGroup, onRetry, today],
  );

  return (
    <div className="message-log" role="log" aria-label="Messages">
      <Virtuoso
        ref={virtuoso}
        className="message-scroller"
        data={rows}
        context={context}
        firstItemIndex={FIRST_INDEX - timeline.prepended}
        initialTopMostItemIndex={{ index: 'LAST', align: 'end' }}
        alignToBottom
        computeItemKey={(_index, row) => row.entry.key}
        itemContent={itemContent}
        components={{ Header: ListHeader }}
        // Follow new messages while at the bottom, and always after I send one.
        followOutput={(isAtBottom) => (isAtBottom || lastRowRef.current?.entry.pending?.status === 'pending' ? 'auto' : false)}
        startReached={() => void store.loadOlder(channelId)}
        atBottomStateChange={setAtBottom}
        atBottomThreshold={48}
        increaseViewportBy={{ top: 600, bottom: 300 }}
      />
      {!atBottom && (
        <button
          type="button"
          className="icon-button jump-button"
          aria-label="Jump to latest message"
          title="Jump to latest message"
          onClick={() => virtuoso.current?.scrollToIndex({ index: 'LAST', align: 'end', behavior: 'auto' })}
        >
          <DownIcon />
        </button>
      )}
    </div>
  );
}
