import { useChat } from '../store/store-context.js';

/** "Alice is typing…", "Alice and Bob are typing…", "3 people are typing…". */
export function typingText(names: readonly string[]): string {
  if (names.length === 0) return '';
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  return `${names.length} people are typing…`;
}

export function TypingIndicator({ channelId }: { channelId: string }) {
  const typing = useChat((s) => s.typing[channelId]);
  const users = useChat((s) => s.users);
  const names = Object.keys(typing ?? {}).map((id) => users[id]?.displayName ?? 'Someone');
  const text = typingText(names);
  // Always present (and polite) so that assistive technology hears it appear.
  return (
    <div className="typing" data-testid="typing" aria-live="polite">
      {text && (
        <>
          <span className="typing-dots" aria-hidden="true">
            <span />
            <span />
            <span />
          </span>
          {text}
        </>
      )}
    </div>
  );
}
