import { useEffect, useState } from 'preact/hooks';
import type { StreamKeyStatusBody } from '@redred/api/protocol';
import { restApi } from '../../net/api.ts';

function CopyButton({ text, testid }: { text: string; testid: string }) {
  const [copied, setCopied] = useState(false);
  return (
    <button
      type="button"
      class="btn btn--sm btn--ghost"
      data-testid={testid}
      onClick={async () => {
        try {
          await navigator.clipboard.writeText(text);
          setCopied(true);
          setTimeout(() => setCopied(false), 1500);
        } catch {
          setCopied(false);
        }
      }}
    >
      {copied ? 'Copied' : 'Copy'}
    </button>
  );
}

/**
 * Going live from OBS (or any WHIP encoder): the server URL and the stream key.
 * The key is shown once, right after it is made; only its hash is kept, so a
 * lost key is replaced, not recovered — and replacing it disconnects an
 * encoder still using the old one.
 */
export function StreamKeyPanel() {
  const [status, setStatus] = useState<StreamKeyStatusBody | null>(null);
  const [key, setKey] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    restApi.streamKeyStatus().then(setStatus, (err: unknown) => setError(err instanceof Error ? err.message : 'unavailable'));
  }, []);

  const rotate = async () => {
    if (status?.hasKey && !confirm('Make a new key? An encoder using the current key is disconnected.')) return;
    setBusy(true);
    setError(null);
    try {
      const made = await restApi.rotateStreamKey();
      setKey(made.key);
      setStatus({ hasKey: true, createdAt: made.createdAt, whipUrl: made.whipUrl });
    } catch (err) {
      setError(err instanceof Error ? err.message : 'the key could not be made');
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="card panel stack" aria-labelledby="obs-title" data-testid="stream-key-panel">
      <header class="panel__head">
        <h2 id="obs-title" class="panel__title">
          Stream from OBS
        </h2>
      </header>
      <p class="muted small">OBS 30+: Settings → Stream → Service “WHIP”. Lowest latency settings are in the OBS guide (docs/obs.md).</p>
      {status ? (
        <>
          <div class="keyrow">
            <span class="field__label">Server</span>
            <code data-testid="whip-url">{status.whipUrl}</code>
            <CopyButton text={status.whipUrl} testid="copy-whip-url" />
          </div>
          <div class="keyrow">
            <span class="field__label">Bearer token</span>
            {key ? (
              <>
                <code data-testid="stream-key">{key}</code>
                <CopyButton text={key} testid="copy-stream-key" />
              </>
            ) : (
              <span class="muted" data-testid="stream-key-status">
                {status.hasKey ? `Set ${new Date(status.createdAt ?? 0).toLocaleString()}; shown only when made.` : 'No key yet.'}
              </span>
            )}
          </div>
          {key ? <p class="banner banner--warn small">Copy it now: it is not shown again. Anyone with it can go live on your channel.</p> : null}
          <button type="button" class="btn btn--sm" data-testid="rotate-stream-key" disabled={busy} onClick={() => void rotate()}>
            {status.hasKey ? 'Make a new key' : 'Make a stream key'}
          </button>
        </>
      ) : null}
      {error ? (
        <p class="field__error" role="alert">
          {error}
        </p>
      ) : null}
    </section>
  );
}
