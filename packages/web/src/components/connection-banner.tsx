import { useEffect, useState } from 'react';
import { useChat } from '../store/store-context.js';

/** A dropped connection usually comes back within a second: only a longer outage is worth a banner. */
const SHOW_AFTER_MS = 1_000;

/**
 * "Reconnecting…" while the SDK is not connected. The live region itself is
 * always in the page (empty when connected) so screen readers announce the change.
 */
export function ConnectionBanner() {
  const connected = useChat((s) => s.connection === 'open');
  const [show, setShow] = useState(false);

  useEffect(() => {
    if (connected) {
      setShow(false);
      return;
    }
    const timer = setTimeout(() => setShow(true), SHOW_AFTER_MS);
    return () => clearTimeout(timer);
  }, [connected]);

  return (
    <div className="banner-region" role="status" data-testid="connection-banner">
      {show && !connected && (
        <div className="banner">
          <span className="spinner" aria-hidden="true" />
          Reconnecting…
        </div>
      )}
    </div>
  );
}
