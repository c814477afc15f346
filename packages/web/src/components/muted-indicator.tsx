import { muteStatus } from '../lib/mute.js';
import { BellOffIcon } from './icons.js';

/** A crossed-out bell while the conversation is muted; its tooltip says for how long. */
export function MutedIndicator({ mutedUntil, now }: { mutedUntil: number | null | undefined; now: number }) {
  const status = muteStatus(mutedUntil, now);
  if (!status) return null;
  return (
    <span className="muted-indicator" role="img" aria-label="Muted" title={status} data-testid="muted">
      <BellOffIcon size={15} />
    </span>
  );
}
