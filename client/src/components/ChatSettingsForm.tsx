import { useEffect, useState } from 'preact/hooks';
import { LIMITS } from '@redred/api/protocol/constants';
import type { LiveRoom } from '../state/live-room.ts';

const SLOW_MODES = [0, 3, 5, 10, 30, 60, LIMITS.slowModeMaxSeconds];

function parseWords(text: string): string[] {
  const words = text
    .split(/[\n,]/)
    .map((w) => w.trim().toLowerCase())
    .filter((w) => w.length > 0 && w.length <= LIMITS.blockedWordMaxLength);
  return [...new Set(words)].slice(0, LIMITS.blockedWordsMax);
}

/** Slow mode, accounts-only and blocked words: the channel's chat rules. */
export function ChatSettingsForm({ room }: { room: LiveRoom }) {
  const settings = room.chat.settings.value;
  const [slow, setSlow] = useState(settings.slowModeSeconds);
  const [accountsOnly, setAccountsOnly] = useState(settings.accountsOnly);
  const [words, setWords] = useState(settings.blockedWords.join('\n'));
  const [dirty, setDirty] = useState(false);
  const [saving, setSaving] = useState(false);

  // Another moderator's change shows up here unless we are in the middle of editing.
  useEffect(() => {
    if (dirty) return;
    setSlow(settings.slowModeSeconds);
    setAccountsOnly(settings.accountsOnly);
    setWords(settings.blockedWords.join('\n'));
  }, [settings, dirty]);

  const save = async (event: Event) => {
    event.preventDefault();
    setSaving(true);
    const ok = await room.updateChatSettings({ slowModeSeconds: slow, accountsOnly, blockedWords: parseWords(words) });
    setSaving(false);
    if (ok) setDirty(false);
  };

  const options = SLOW_MODES.includes(slow) ? SLOW_MODES : [...SLOW_MODES, slow].sort((a, b) => a - b);

  return (
    <section class="card panel" aria-labelledby="chat-settings-title" data-testid="chat-settings">
      <header class="panel__head">
        <h2 id="chat-settings-title" class="panel__title">
          Chat settings
        </h2>
      </header>
      <form class="stack" onSubmit={save}>
        <label class="row">
          <span class="row__label">Slow mode</span>
          <select
            class="input input--sm"
            value={slow}
            data-testid="slow-mode-select"
            onChange={(e) => {
              setSlow(Number(e.currentTarget.value));
              setDirty(true);
            }}
          >
            {options.map((s) => (
              <option value={s} key={s}>
                {s === 0 ? 'Off' : `One message per ${s} s`}
              </option>
            ))}
          </select>
        </label>
        <label class="row row--check">
          <input
            type="checkbox"
            checked={accountsOnly}
            onChange={(e) => {
              setAccountsOnly(e.currentTarget.checked);
              setDirty(true);
            }}
          />
          <span>Accounts only: brand-new accounts and guests read but do not chat</span>
        </label>
        <label class="stack stack--tight">
          <span class="row__label">Blocked words (one per line)</span>
          <textarea
            class="input"
            rows={3}
            value={words}
            data-testid="blocked-words"
            onInput={(e) => {
              setWords(e.currentTarget.value);
              setDirty(true);
            }}
          />
        </label>
        <div class="row row--end">
          <button type="submit" class="btn btn--primary btn--sm" disabled={!dirty || saving} data-testid="save-chat-settings">
            {saving ? 'Saving…' : 'Save'}
          </button>
        </div>
      </form>
    </section>
  );
}
