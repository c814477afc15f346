import { useEffect } from 'react';
import { isOpenChannelMessage } from '../lib/notifications.js';

/** A click on a notification: the service worker asks this window to open the conversation. */
export function useNotificationClicks(open: (channelId: string) => void): void {
  useEffect(() => {
    if (!('serviceWorker' in navigator)) return;
    const container = navigator.serviceWorker;
    const onMessage = (e: MessageEvent) => {
      if (isOpenChannelMessage(e.data)) open(e.data.channelId);
    };
    container.addEventListener('message', onMessage);
    // Messages that arrived while the page was starting are held until this.
    container.startMessages();
    return () => container.removeEventListener('message', onMessage);
  }, [open]);
}
