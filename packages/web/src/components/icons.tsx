import type { ReactNode } from 'react';

/* Small inline icons (decorative: the button or text next to them carries the meaning). */

interface IconProps {
  size?: number;
}

function Svg({ size = 20, children }: IconProps & { children: ReactNode }) {
  return (
    <svg className="icon" width={size} height={size} viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      {children}
    </svg>
  );
}

const stroke = { fill: 'none', stroke: 'currentColor', strokeWidth: 2, strokeLinecap: 'round', strokeLinejoin: 'round' } as const;

export const ChatIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M21 12a8 8 0 0 1-11.6 7.1L4 20l1-4.6A8 8 0 1 1 21 12z" />
    <path {...stroke} d="M12 9v6M9 12h6" />
  </Svg>
);

export const GroupIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle {...stroke} cx="9" cy="8" r="3.5" />
    <path {...stroke} d="M2.5 20a6.5 6.5 0 0 1 13 0" />
    <path {...stroke} d="M16 4.6a3.5 3.5 0 0 1 0 6.8M18 14.5a6.5 6.5 0 0 1 3.5 5.5" />
  </Svg>
);

export const UserIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle {...stroke} cx="12" cy="8" r="4" />
    <path {...stroke} d="M4 21a8 8 0 0 1 16 0" />
  </Svg>
);

export const BackIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M15 5l-7 7 7 7" />
  </Svg>
);

export const InfoIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle {...stroke} cx="12" cy="12" r="9" />
    <path {...stroke} d="M12 11v6M12 7.5v.5" />
  </Svg>
);

export const SendIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M4 12l16-8-6 16-2.5-6.5z" />
  </Svg>
);

export const CloseIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M6 6l12 12M18 6L6 18" />
  </Svg>
);

export const DownIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M6 9l6 6 6-6" />
  </Svg>
);

export const ClockIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle {...stroke} cx="12" cy="12" r="8" />
    <path {...stroke} d="M12 8v4.5l3 1.5" />
  </Svg>
);

export const TickIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M5 12.5l4.5 4.5L19 7.5" />
  </Svg>
);

export const DoubleTickIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M2 12.5l4.5 4.5L16 7.5M11 16l1 1 9.5-9.5" />
  </Svg>
);

export const AlertIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle {...stroke} cx="12" cy="12" r="9" />
    <path {...stroke} d="M12 7.5v5.5M12 16.5v.5" />
  </Svg>
);

export const BellIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M6 16V11a6 6 0 0 1 12 0v5l1.5 2h-15z" />
    <path {...stroke} d="M10 20.5a2.2 2.2 0 0 0 4 0" />
  </Svg>
);

export const BellOffIcon = (p: IconProps) => (
  <Svg {...p}>
    <path {...stroke} d="M8.2 5.6A6 6 0 0 1 18 11v4.5M18.5 18H4.5L6 16v-5c0-.9.2-1.8.6-2.6" />
    <path {...stroke} d="M10 20.5a2.2 2.2 0 0 0 4 0M3 3l18 18" />
  </Svg>
);

export const MoreIcon = (p: IconProps) => (
  <Svg {...p}>
    <circle cx="12" cy="5.5" r="1.8" fill="currentColor" />
    <circle cx="12" cy="12" r="1.8" fill="currentColor" />
    <circle cx="12" cy="18.5" r="1.8" fill="currentColor" />
  </Svg>
);
