import { describe, expect, it } from 'vitest';
import type { ServerMessageOf } from '@redred/api/protocol';
import { createStreamState } from './stream.ts';

const welcome = (stream: Partial<ServerMessageOf<'connection_established'>['stream']>) =>
  ({
    type: 'connection_established',
    role: 'viewer',
    user: null,
    serverTime: 0,
    stream: { id: 1, title: 't', description: '', status: 'live', streamer: { id: 1, username: 's' }, viewers: 0, peakViewers: 0, startedAt: 0, endedAt: null, createdAt: 0, ...stream },
  }) as unknown as ServerMessageOf<'connection_established'>;

describe('stream state: recording', () => {
  it('a viewer joining after recording stopped for low disk has the reason from the snapshot', () => {
    const stream = createStreamState();
    stream.established(welcome({ recordingStopReason: 'disk_low' }), 0);
    expect(stream.info.value).toMatchObject({ recordingStopReason: 'disk_low' });
    expect(stream.info.value?.recording).toBeUndefined();
  });

  it('recording_status: on clears the reason, off with a reason keeps it, off without one clears it', () => {
    const stream = createStreamState();
    stream.established(welcome({}), 0);
    stream.setRecording(true);
    expect(stream.info.value).toMatchObject({ recording: true });
    stream.setRecording(false, 'disk_low');
    expect(stream.info.value?.recording).toBeUndefined();
    expect(stream.info.value?.recordingStopReason).toBe('disk_low');
    stream.setRecording(true);
    expect(stream.info.value?.recordingStopReason).toBeUndefined();
    stream.setRecording(false);
    expect(stream.info.value?.recording).toBeUndefined();
    expect(stream.info.value?.recordingStopReason).toBeUndefined();
  });
});
