import { MAX_MESSAGE_CODE_POINTS, checkMessageText, countCodePoints } from '@confab/protocol';
import { useId, useLayoutEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';
import { formatCount } from '../lib/format.js';
import { useStore } from '../store/store-context.js';
import { SendIcon } from './icons.js';

/** The counter appears this close to the limit. */
const COUNT_FROM_REMAINING = 1_000;
const MAX_HEIGHT_PX = 180;

/** Whether the person uses a mouse: then the message box takes focus on its own (no on-screen keyboard pops up). */
const finePointer = () => window.matchMedia?.('(pointer: fine)').matches ?? true;

/**
 * Message box: Enter sends, Shift+Enter starts a new line. Over-long text is
 * refused here, before it could reach the network.
 */
export function Composer({ channelId }: { channelId: string }) {
  const store = useStore();
  const [text, setText] = useState(() => store.drafts.get(channelId) ?? '');
  const box = useRef<HTMLTextAreaElement>(null);
  const countId = useId();
  const limit = store.client.welcome?.limits.maxMessageCodePoints ?? MAX_MESSAGE_CODE_POINTS;

  // A string has at least as many UTF-16 units as code points, so short texts skip the count.
  const nearLimit = text.length >= limit - COUNT_FROM_REMAINING;
  const count = nearLimit ? countCodePoints(text) : text.length;
  const showCount = count >= limit - COUNT_FROM_REMAINING;
  const refusal = text.length > 0 ? checkMessageText(text, limit) : null;
  const canSend = text.trim().length > 0 && refusal === null;

  // Grows with its content up to a few lines, then scrolls.
  useLayoutEffect(() => {
    const el = box.current;
    if (!el) return;
    el.style.height = 'auto';
    el.style.height = `${Math.min(el.scrollHeight, MAX_HEIGHT_PX)}px`;
  }, [text]);

  useLayoutEffect(() => {
    if (finePointer()) box.current?.focus();
  }, []);

  function change(value: string) {
    setText(value);
    if (value) store.drafts.set(channelId, value);
    else store.drafts.delete(channelId);
    if (value.trim()) store.typing(channelId);
  }

  function send() {
    if (!canSend) return;
    store.send(channelId, text);
    change('');
    box.current?.focus();
  }

  function onKeyDown(e: KeyboardEvent<HTMLTextAreaElement>) {
    // isComposing: Enter that confirms an IME composition (Japanese, Chinese…) must not send.
    if (e.key === 'Enter' && !e.shiftKey && !e.nativeEvent.isComposing) {
      e.preventDefault();
      send();
    }
  }

  function onSubmit(e: FormEvent) {
    e.preventDefault();
    send();
  }

  const over = count - limit;
  return (
    <form className="composer" onSubmit={onSubmit}>
      {refusal === 'message_too_long' && (
        <p className="composer-error" role="alert">
          Message too long: remove {formatCount(over)} {over === 1 ? 'character' : 'characters'} to send it.
        </p>
      )}
      {refusal === 'invalid_text' && (
        <p className="composer-error" role="alert">
          This message contains characters that cannot be sent.
        </p>
      )}
      <div className="composer-row">
        <textarea
          ref={box}
          className="composer-input"
          aria-label="Message"
          aria-describedby={showCount ? countId : undefined}
          placeholder="Type a message"
          rows={1}
          value={text}
          onChange={(e) => change(e.target.value)}
          onKeyDown={onKeyDown}
        />
        <button type="submit" className="send-button" aria-label="Send" title="Send" disabled={!canSend}>
          <SendIcon />
        </button>
      </div>
      {showCount && (
        <span id={countId} className="char-count" data-testid="char-count" data-over={over > 0 || undefined}>
          {formatCount(count)} / {formatCount(limit)}
        </span>
      )}
    </form>
  );
}
