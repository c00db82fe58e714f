import { randomBytes } from 'node:crypto';
import * as sdpTransform from 'sdp-transform';
import type { IceCandidate, IceParameters } from '@redred/sfu';
import { AppError } from '../errors.ts';

// PATCH on a WHIP/WHEP session (RFC 9725 §4.3): trickle ICE and ICE restarts,
// with `application/trickle-ice-sdpfrag` bodies (RFC 8840). mediasoup is
// ICE-lite: it learns the client's address from the client's own checks, so
// trickled candidates are accepted and dropped (the RFC allows discarding
// candidates the server cannot use); an ICE restart gets mediasoup's new
// credentials and its candidates back.

export interface IceFragment {
  usernameFragment: string | undefined;
  password: string | undefined;
  candidates: number;
}

/** A strong entity-tag for one ICE session. */
export function newEtag(): string {
  return `"${randomBytes(12).toString('base64url')}"`;
}

export function parseIceFragment(text: string): IceFragment {
  if (text.length === 0 || !/^a=|^m=/m.test(text)) throw new AppError('invalid_sdp', 'the body is not an SDP fragment (a=ice-ufrag, a=candidate … lines)');
  let frag;
  try {
    frag = sdpTransform.parse(text);
  } catch (err) {
    throw new AppError('invalid_sdp', `the SDP fragment could not be parsed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const media = frag.media ?? [];
  const first = media[0];
  const usernameFragment = first?.iceUfrag ?? frag.iceUfrag;
  const password = first?.icePwd ?? frag.icePwd;
  if ((usernameFragment === undefined) !== (password === undefined)) throw new AppError('invalid_sdp', 'a=ice-ufrag and a=ice-pwd go together');
  const candidates = media.reduce((n, m) => n + (m.candidates?.length ?? 0), 0);
  return { usernameFragment: usernameFragment === undefined ? undefined : String(usernameFragment), password: password === undefined ? undefined : String(password), candidates };
}

/** The answer to an ICE restart: our new credentials and candidates, for every mid, ice-lite as in the answer. */
export function writeIceFragment(ice: { iceParameters: IceParameters; iceCandidates: IceCandidate[] }, sections: { mid: string; kind: string }[]): string {
  const lines = ['a=ice-lite', `a=ice-ufrag:${ice.iceParameters.usernameFragment}`, `a=ice-pwd:${ice.iceParameters.password}`];
  for (const section of sections) {
    lines.push(`m=${section.kind} 9 UDP/TLS/RTP/SAVPF 0`, `a=mid:${section.mid}`);
    for (const c of ice.iceCandidates) {
      const address = (c as { address?: string }).address ?? c.ip;
      lines.push(`a=candidate:${c.foundation} 1 ${c.protocol} ${c.priority} ${address} ${c.port} typ ${c.type}${c.tcpType ? ` tcptype ${c.tcpType}` : ''}`);
    }
    lines.push('a=end-of-candidates');
  }
  return lines.join('\r\n') + '\r\n';
}

export type PatchOutcome = { kind: 'trickle' } | { kind: 'restart'; fragment: string; etag: string };

/**
 * The RFC's rules for a PATCH, given the session's current ICE credentials of
 * the client and entity-tag: 428 without If-Match, 412 for a stale tag, a
 * restart when the client's credentials changed, else a trickle.
 */
export function classifyPatch(ifMatch: string | undefined, etag: string, fragment: IceFragment, client: { usernameFragment: string; password: string }): 'trickle' | 'restart' {
  if (ifMatch === undefined) throw new AppError('precondition_required', 'a PATCH needs If-Match: the ETag of the ICE session, or * for an ICE restart');
  const restart = fragment.usernameFragment !== undefined && (fragment.usernameFragment !== client.usernameFragment || fragment.password !== client.password);
  if (restart) return 'restart';
  if (ifMatch.trim() !== etag) throw new AppError('precondition_failed', 'If-Match does not name the current ICE session; it was restarted meanwhile');
  return 'trickle';
}
