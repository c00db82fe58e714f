import { useEffect, useState } from 'preact/hooks';
import { restApi } from '../../net/api.ts';

export interface RecordChoice {
  record: boolean;
  setRecord(on: boolean): void;
  recordByDefault: boolean;
  setRecordByDefault(on: boolean): void;
}

/** Whether to record the stream being set up; starts from the channel's default (docs/recording.md). */
export function useRecordChoice(): RecordChoice {
  const [record, setRecord] = useState(false);
  const [recordByDefault, setDefault] = useState(false);
  useEffect(() => {
    let cancelled = false;
    restApi.recordingSettings().then(
      (s) => {
        if (cancelled) return;
        setDefault(s.recordByDefault);
        setRecord(s.recordByDefault);
      },
      () => {
        // Signed out or unreachable: the studio's own sign-in handling shows it; recording stays off.
      },
    );
    return () => {
      cancelled = true;
    };
  }, []);
  return {
    record,
    setRecord,
    recordByDefault,
    setRecordByDefault(on) {
      setDefault(on);
      restApi.setRecordingSettings({ recordByDefault: on }).catch(() => setDefault(!on));
    },
  };
}

export function RecordOptions({ choice }: { choice: RecordChoice }) {
  return (
    <>
      <label class="row row--check">
        <input type="checkbox" checked={choice.record} data-testid="record-stream" onChange={(e) => choice.setRecord(e.currentTarget.checked)} />
        <span>Record this stream (viewers see REC; the replay appears on the stream's page when it ends)</span>
      </label>
      <label class="row row--check muted">
        <input type="checkbox" checked={choice.recordByDefault} data-testid="record-by-default" onChange={(e) => choice.setRecordByDefault(e.currentTarget.checked)} />
        <span>Record my streams by default</span>
      </label>
    </>
  );
}
