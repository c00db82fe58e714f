import type {
  AdminLogBody,
  AdminStreamListBody,
  AdminUserBody,
  AdminUserListBody,
  ChannelBody,
  CreateStreamBody,
  DeleteUserBody,
  LogoutUserBody,
  ModerationListsBody,
  ResetLinkBody,
  SiteSettingsBody,
  SiteSettingsPatch,
  Credentials,
  ErrorBody,
  MeBody,
  RegisterRequest,
  RecordingBody,
  RecordingListBody,
  RecordingSettingsBody,
  ReplayChatBody,
  SessionBody,
  SiteInfoBody,
  InviteBody,
  StatsBody,
  StreamBody,
  StreamListBody,
  StreamKeyBody,
  StreamKeyStatusBody,
  UpdateStreamBody,
  UploadProbeBody,
} from '@redred/api/protocol';
import { ERROR_CODES, type ErrorCode, type WireError } from '@redred/api/protocol/errors';

/** A refusal from the REST API, with the server's stable code. */
export class ApiError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryAfterSeconds: number | undefined;

  constructor(status: number, error: WireError) {
    super(error.message);
    this.name = 'ApiError';
    this.status = status;
    this.code = error.code;
    this.retryAfterSeconds = error.retryAfterSeconds;
  }
}

const KNOWN_CODES = new Set<string>(ERROR_CODES);

function isErrorBody(value: unknown): value is ErrorBody {
  if (typeof value !== 'object' || value === null || !('error' in value)) return false;
  const error: unknown = value.error;
  return typeof error === 'object' && error !== null && 'code' in error && typeof error.code === 'string' && KNOWN_CODES.has(error.code);
}

async function call<T>(method: 'GET' | 'POST' | 'PATCH' | 'PUT' | 'DELETE', path: string, body?: unknown): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      // The session is the HttpOnly cookie; no token is ever kept in script-readable storage.
      credentials: 'same-origin',
      headers: body === undefined ? { accept: 'application/json' } : { accept: 'application/json', 'content-type': 'application/json' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  } catch {
    throw new ApiError(0, { code: 'unavailable', message: 'the server cannot be reached; check your connection' });
  }
  const text = await res.text();
  let data: unknown = undefined;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = undefined;
    }
  }
  if (!res.ok) {
    if (isErrorBody(data)) throw new ApiError(res.status, data.error);
    throw new ApiError(res.status, { code: res.status >= 500 ? 'internal' : 'bad_request', message: `the server answered HTTP ${res.status}` });
  }
  // The body's shape is the server's contract (its response schemas), not re-validated here.
  return data as T;
}

/** The REST half of the protocol (api/src/protocol/rest.ts). */
export const restApi = {
  site: () => call<SiteInfoBody>('GET', '/api/site'),
  register: (credentials: RegisterRequest) => call<SessionBody>('POST', '/api/auth/register', credentials),
  login: (credentials: Credentials) => call<SessionBody>('POST', '/api/auth/login', credentials),
  logout: () => call<void>('POST', '/api/auth/logout'),
  me: () => call<MeBody>('GET', '/api/auth/me'),
  createStream: (body: CreateStreamBody) => call<StreamBody>('POST', '/api/live/create/', body),
  liveStreams: () => call<StreamListBody>('GET', '/api/live/'),
  stream: (id: number) => call<StreamBody>('GET', `/api/live/${id}`),
  moderationLists: (channelId: number) => call<ModerationListsBody>('GET', `/api/moderation/${channelId}`),
  channel: (username: string) => call<ChannelBody>('GET', `/api/channels/${encodeURIComponent(username)}`),
  /** The signed-in user's stream that is not ended; 404 stream_not_found when there is none. */
  myOpenStream: () => call<StreamBody>('GET', '/api/live/mine'),
  stats: (id: number) => call<StatsBody>('GET', `/api/live/${id}/stats`),
  updateStream: (id: number, body: UpdateStreamBody) => call<StreamBody>('PATCH', `/api/live/${id}`, body),
  /** The stream's recording (404 recording_not_found: none, or private); `url` once it plays. */
  streamRecording: (streamId: number) => call<RecordingBody>('GET', `/api/live/${streamId}/recording`),
  channelRecordings: (username: string) => call<RecordingListBody>('GET', `/api/channels/${encodeURIComponent(username)}/recordings`),
  replayChat: (recordingId: number) => call<ReplayChatBody>('GET', `/api/recordings/${recordingId}/chat`),
  recordingSettings: () => call<RecordingSettingsBody>('GET', '/api/recording-settings'),
  setRecordingSettings: (body: RecordingSettingsBody) => call<RecordingSettingsBody>('PUT', '/api/recording-settings', body),
  streamKeyStatus: () => call<StreamKeyStatusBody>('GET', '/api/stream-key'),
  /** A new key, shown once; an encoder using the old one is disconnected. */
  rotateStreamKey: () => call<StreamKeyBody>('POST', '/api/stream-key'),
  resetPassword: (token: string, password: string) => call<void>('POST', '/api/auth/reset-password', { token, password }),
  admin: {
    streams: () => call<AdminStreamListBody>('GET', '/api/admin/streams'),
    endStream: (id: number, reason: string) => call<StreamBody>('POST', `/api/admin/streams/${id}/end`, { reason }),
    users: (q: string) => call<AdminUserListBody>('GET', `/api/admin/users?q=${encodeURIComponent(q)}`),
    setDisabled: (id: number, disabled: boolean) => call<AdminUserBody>('POST', `/api/admin/users/${id}/disable`, { disabled }),
    deleteUser: (id: number, deleteComments: boolean) => call<DeleteUserBody>('POST', `/api/admin/users/${id}/delete`, { deleteComments }),
    logoutUser: (id: number) => call<LogoutUserBody>('POST', `/api/admin/users/${id}/logout`),
    resetLink: (id: number) => call<ResetLinkBody>('POST', `/api/admin/users/${id}/reset-link`),
    setAdmin: (id: number, value: boolean) => call<AdminUserBody>('POST', `/api/admin/users/${id}/admin`, { value }),
    setMayStream: (id: number, value: boolean) => call<AdminUserBody>('POST', `/api/admin/users/${id}/may-stream`, { value }),
    settings: () => call<SiteSettingsBody>('GET', '/api/admin/settings'),
    updateSettings: (patch: SiteSettingsPatch) => call<SiteSettingsBody>('PATCH', '/api/admin/settings', patch),
    log: () => call<AdminLogBody>('GET', '/api/admin/log'),
    createInvite: () => call<InviteBody>('POST', '/api/admin/invites', {}),
  },
  /** Uploads `bytes` and returns the uplink rate the server measured. */
  probeUpload: async (bytes: Blob): Promise<UploadProbeBody> => {
    const res = await fetch('/api/probe/upload', { method: 'POST', credentials: 'same-origin', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
    const data: unknown = await res.json().catch(() => undefined);
    if (!res.ok) throw new ApiError(res.status, isErrorBody(data) ? data.error : { code: 'internal', message: `the server answered HTTP ${res.status}` });
    return data as UploadProbeBody;
  },
};
