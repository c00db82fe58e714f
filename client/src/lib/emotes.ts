import { VIP_EMOTES, type Role } from '@redred/api/protocol/constants';

export type VipEmote = (typeof VIP_EMOTES)[number];

export type ContentPart = { kind: 'text'; text: string } | { kind: 'emote'; name: VipEmote };

const EMOTE_NAMES = new Set<string>(VIP_EMOTES);
const EMOTE_RE = /:([a-z0-9_]+):/g;

/** VIP emotes render as images only for comments by VIPs and staff; anyone else's `:code:` stays text. */
export function emotesAllowed(role: Role): boolean {
  return role === 'vip' || role === 'moderator' || role === 'streamer';
}

export function isVipEmote(name: string): name is VipEmote {
  return EMOTE_NAMES.has(name);
}

/**
 * Splits a comment into text and emote parts. The text parts are rendered as
 * text nodes: nothing in a comment is ever parsed as HTML.
 */
export function splitEmotes(content: string, allowed: boolean): ContentPart[] {
  if (!allowed) return [{ kind: 'text', text: content }];
  const parts: ContentPart[] = [];
  let last = 0;
  for (const match of content.matchAll(EMOTE_RE)) {
    const name = match[1] ?? '';
    if (!isVipEmote(name)) continue;
    if (match.index > last) parts.push({ kind: 'text', text: content.slice(last, match.index) });
    parts.push({ kind: 'emote', name });
    last = match.index + match[0].length;
  }
  if (last < content.length) parts.push({ kind: 'text', text: content.slice(last) });
  return parts;
}

export function emoteUrl(name: VipEmote): string {
  return `/emotes/${name}.svg`;
}
