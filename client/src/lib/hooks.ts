import { useEffect, useState } from 'preact/hooks';

/** The current time, re-rendering every `intervalMs` while the component is mounted (and `active`). */
export function useNow(intervalMs = 1000, active = true): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), intervalMs);
    return () => clearInterval(timer);
  }, [intervalMs, active]);
  return now;
}

/** Sets `document.title` while mounted. */
export function useDocumentTitle(title: string): void {
  useEffect(() => {
    const previous = document.title;
    document.title = title ? `${title} · RED-RED Live` : 'RED-RED Live';
    return () => {
      document.title = previous;
    };
  }, [title]);
}
