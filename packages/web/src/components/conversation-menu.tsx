import type { ChannelSummary } from '@confab/sdk';
import { useEffect, useState } from 'react';
import { errorText } from '../lib/error-text.js';
import { MUTE_CHOICES, isMuted, muteStatus, mutedUntilFor } from '../lib/mute.js';
import { useNow } from '../hooks/use-now.js';
import { useChat, useStore } from '../store/store-context.js';
import { MoreIcon } from './icons.js';
import { Menu, MenuGroup, MenuItem } from './menu.js';

/**
 * The header's "Conversation options": muting notifications for a while,
 * always, or no longer; in a 1:1 conversation also blocking the other person.
 */
export function ConversationMenu({ channel }: { channel: ChannelSummary }) {
  const store = useStore();
  const now = useNow();
  const [error, setError] = useState<string | null>(null);
  const muted = isMuted(channel.mutedUntil, now);
  const peer = channel.kind === 'direct' ? channel.peer : undefined;
  const blocked = useChat((s) => (peer ? s.blocked[peer.id] === true : false));

  // A failure is worth a moment's notice, not a permanent line in the header.
  useEffect(() => {
    if (!error) return;
    const timer = setTimeout(() => setError(null), 6_000);
    return () => clearTimeout(timer);
  }, [error]);

  function mute(mutedUntil: number | null) {
    setError(null);
    store.mute(channel.id, mutedUntil).catch((err: unknown) => setError(errorText(err)));
  }

  function toggleBlock(userId: string) {
    setError(null);
    (blocked ? store.unblock(userId) : store.block(userId)).catch((err: unknown) => setError(errorText(err)));
  }

  return (
    <div className="conv-menu">
      <Menu label="Conversation options" icon={<MoreIcon />}>
        {(close) => (
          <>
            {muted ? (
              <MenuItem
                onSelect={() => {
                  close();
                  mute(null);
                }}
              >
                <span>Unmute notifications</span>
                <span className="menu-item-note">{muteStatus(channel.mutedUntil, now)}</span>
              </MenuItem>
            ) : (
              <MenuGroup label="Mute notifications">
                {MUTE_CHOICES.map(({ choice, label }) => (
                  <MenuItem
                    key={choice}
                    label={`Mute ${label.toLowerCase()}`}
                    onSelect={() => {
                      close();
                      mute(mutedUntilFor(choice, Date.now()));
                    }}
                  >
                    {label}
                  </MenuItem>
                ))}
              </MenuGroup>
            )}
            {peer && (
              <MenuItem
                onSelect={() => {
                  close();
                  toggleBlock(peer.id);
                }}
              >
                {blocked ? `Unblock ${peer.displayName}` : `Block ${peer.displayName}`}
              </MenuItem>
            )}
          </>
        )}
      </Menu>
      {error && (
        <p className="menu-error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
