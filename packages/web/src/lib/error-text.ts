import { isConfabError } from '@confab/sdk';

const TEXT: Record<string, string> = {
  invalid_credentials: 'Wrong username or password.',
  username_taken: 'That username is already taken.',
  invalid_username: 'Usernames have 3–32 characters: lower-case letters, digits, “_” and “.”, starting with a letter or digit.',
  invalid_password: 'Passwords have at least 8 characters.',
  invalid_name: 'Names have 1 to 64 characters (group names up to 100).',
  network_error: 'The server could not be reached. Check your connection and try again.',
  unavailable: 'The server is busy. Try again in a moment.',
  rate_limited: 'Too many attempts. Wait a moment and try again.',
  forbidden: 'You are not allowed to do that in this conversation.',
  not_member: 'You are no longer a member of this conversation.',
  blocked: 'Messages can’t be sent in this conversation: one of you has blocked the other.',
  group_full: 'The group would have too many members.',
  already_member: 'Everyone you picked is already a member.',
  user_not_found: 'That person no longer exists.',
  message_too_long: 'This message is too long.',
  invalid_text: 'This message contains characters that cannot be sent.',
  message_empty: 'Type a message first.',
  closed: 'You were logged out.',
  push_unsupported: 'This Confab server does not send notifications through this browser’s push service.',
};

/** A sentence for a person, from any error the SDK reports. */
export function errorText(err: unknown): string {
  if (isConfabError(err)) return TEXT[err.code] ?? err.message;
  return err instanceof Error ? err.message : 'Something went wrong.';
}
