import type { CSSProperties } from 'react';
import { hueFor, initials } from '../lib/channel-name.js';
import { GroupIcon } from './icons.js';

interface AvatarProps {
  /** Colours the avatar; the same id always gets the same colour. */
  id: string;
  name: string;
  group?: boolean;
  size?: 'small' | 'medium' | 'large';
}

/** Initials on a colour, decorative: the name is always written next to it. */
export function Avatar({ id, name, group = false, size = 'medium' }: AvatarProps) {
  return (
    <span className={`avatar avatar-${size}`} style={{ '--avatar-hue': hueFor(id) } as CSSProperties} aria-hidden="true">
      {group ? <GroupIcon size={size === 'small' ? 14 : 20} /> : initials(name)}
    </span>
  );
}
