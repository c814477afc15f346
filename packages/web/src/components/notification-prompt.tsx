import { usePush, useStore } from '../store/store-context.js';
import { BellIcon, CloseIcon } from './icons.js';

/**
 * "Turn on notifications" in the sidebar, only while the browser has not been
 * asked yet and the server sends Web Push: the browser's permission request
 * follows a click here, never a page load. Below it, a short-lived message
 * after the person asked (a failure never gets in the way of chatting).
 */
export function NotificationPrompt() {
  const push = useStore().push;
  const { status, notice, promptDismissed } = usePush();
  const show = (status === 'ask' || status === 'enabling') && !promptDismissed;

  return (
    <>
      {show && (
        <section className="push-prompt" aria-label="Notifications">
          <BellIcon />
          <div className="push-prompt-body">
            <p>Get a notification when a message arrives while Confab is in the background.</p>
            <div className="push-prompt-actions">
              <button type="button" className="primary-button" disabled={status === 'enabling'} onClick={() => void push.enable()}>
                Turn on notifications
              </button>
              <button type="button" className="link-button" onClick={push.dismissPrompt}>
                Not now
              </button>
            </div>
          </div>
        </section>
      )}
      <div className="push-notice-region" role="status">
        {notice && (
          <div className="push-notice">
            <p>{notice}</p>
            <button type="button" className="icon-button" aria-label="Dismiss message" onClick={push.dismissNotice}>
              <CloseIcon size={16} />
            </button>
          </div>
        )}
      </div>
    </>
  );
}
