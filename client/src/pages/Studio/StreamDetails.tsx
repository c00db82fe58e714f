import { useState } from 'preact/hooks';
import { LIMITS } from '@redred/api/protocol/constants';
import { Field } from '../../components/Field.tsx';
import { restApi } from '../../net/api.ts';
import type { LiveRoom } from '../../state/live-room.ts';

/** Title and description, editable while live (a stream started from OBS takes the last ones). */
export function StreamDetails({ room }: { room: LiveRoom }) {
  const info = room.stream.info.value;
  const [editing, setEditing] = useState(false);
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  if (!editing) {
    return (
      <button
        type="button"
        class="btn btn--sm btn--ghost"
        data-testid="edit-details"
        disabled={!info || info.status === 'ended'}
        onClick={() => {
          setTitle(info?.title ?? '');
          setDescription(info?.description ?? '');
          setError(null);
          setEditing(true);
        }}
      >
        Edit title
      </button>
    );
  }
  const save = async (event: Event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await restApi.updateStream(room.streamId, { title: title.trim(), description: description.trim() });
      setEditing(false);
    } catch (err) {
      setError(err instanceof Error ? err.message : 'not saved');
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="card panel stack" onSubmit={save} data-testid="details-form">
      <Field label="Title" name="details-title" value={title} maxLength={LIMITS.titleMax} error={error} data-testid="details-title" onInput={(e) => setTitle(e.currentTarget.value)} required />
      <Field label="Description" name="details-description" multiline rows={3} maxLength={LIMITS.descriptionMax} value={description} onInput={(e) => setDescription(e.currentTarget.value)} />
      <div class="row">
        <button type="submit" class="btn btn--sm btn--primary" disabled={busy} data-testid="details-save">
          Save
        </button>
        <button type="button" class="btn btn--sm btn--ghost" onClick={() => setEditing(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
