import { Fragment, memo, useMemo } from 'react';
import { linkify } from '../lib/linkify.js';

/**
 * Message text as React text nodes (never parsed as HTML), with http(s) URLs
 * as links that open in a new tab without access to this page.
 */
export const MessageText = memo(function MessageText({ text }: { text: string }) {
  const segments = useMemo(() => linkify(text), [text]);
  return (
    <div className="msg-text" data-testid="message-text">
      {segments.map((s, i) =>
        s.kind === 'link' ? (
          <a key={i} href={s.href} target="_blank" rel="noopener noreferrer">
            {s.text}
          </a>
        ) : (
          <Fragment key={i}>{s.text}</Fragment>
        ),
      )}
    </div>
  );
});
