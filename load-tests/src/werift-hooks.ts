// What the load viewers change in werift's insides: the codecs and feedback
// they negotiate, the STUN gathering they skip, and the taps on the UDP sockets
// under its ICE agent (media in, RTCP out). werift's internals are typed here
// only as far as these hooks use them.
import { RTCRtpCodecParameters, type RTCPeerConnection } from 'werift';
import { countRtcp, type RtcpCounts } from './rtcp-sent.ts';
import { BROWSER_FEEDBACK } from './sdp.ts';

/** werift's side of the negotiation; with `feedback`, its receiver sends receiver reports, NACKs and transport-cc feedback. */
export function codecs(feedback: boolean) {
  const fb = () => (feedback ? BROWSER_FEEDBACK.map((f) => ({ ...f })) : []);
  return {
    video: [
      new RTCRtpCodecParameters({ mimeType: 'video/VP8', clockRate: 90000, rtcpFeedback: fb() }),
      new RTCRtpCodecParameters({ mimeType: 'video/H264', clockRate: 90000, rtcpFeedback: fb(), parameters: 'level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f' }),
    ],
    audio: [new RTCRtpCodecParameters({ mimeType: 'audio/opus', clockRate: 48000, channels: 2, rtcpFeedback: [] })],
  };
}

export interface WeriftUdp {
  onData: (data: Buffer, addr: [string, number]) => void;
  send: (data: Buffer, addr?: [string, number]) => Promise<void>;
  socket?: { setRecvBufferSize(size: number): void; address(): { address: string; port: number; family: string } };
}

export interface WeriftIce {
  nominated?: { protocol: { transport?: WeriftUdp }; remoteAddr: [string, number] };
}

/** ~0.8 s of a 1 Mbps viewer's media: a generator that stalls briefly (GC, a join burst) must not show up as server loss. */
const RECV_BUFFER_BYTES = 1 << 20;

/**
 * werift's ICE agent falls back to stun.l.google.com when no STUN server is
 * configured (`iceServers: []` is not enough) and waits up to 5 s for a
 * server-reflexive candidate before it starts checking. Offline that is a DNS
 * failure; with a hundred joins at once the lookups queue on libuv's four
 * threads and every join took 5 s. The SFU is ICE-lite on a reachable address:
 * host candidates are all a viewer needs.
 */
export function skipStunGathering(pc: RTCPeerConnection): void {
  for (const ice of pc.iceTransports) (ice.connection as unknown as { stunServer?: unknown }).stunServer = undefined;
}

/**
 * Taps the UDP sockets under werift's ICE agent: RTP/RTCP (first byte 128–191)
 * goes to `onMedia`; STUN and DTLS keep their path. With `passThrough`, media
 * continues into werift (SRTP decryption), otherwise it stops here. What werift
 * sends is counted into `sent` by RTCP type.
 */
export function tapMedia(pc: RTCPeerConnection, onMedia: (data: Buffer) => void, passThrough: boolean, sent: RtcpCounts): void {
  for (const ice of pc.iceTransports) {
    const protocols = (ice.connection as unknown as { protocols: { transport?: WeriftUdp }[] }).protocols;
    for (const protocol of protocols) {
      const udp = protocol.transport;
      if (!udp) continue;
      try {
        udp.socket?.setRecvBufferSize(RECV_BUFFER_BYTES);
      } catch {
        // Capped by net.core.rmem_max: keep the default.
      }
      const send = udp.send;
      udp.send = (data, addr) => {
        countRtcp(sent, data);
        return send(data, addr);
      };
      const original = udp.onData.bind(udp);
      udp.onData = (data, addr) => {
        const b0 = data[0]!;
        if (b0 >= 128 && b0 <= 191) {
          onMedia(data);
          if (!passThrough) return;
        }
        original(data, addr);
      };
    }
  }
}

/** The UDP transport and remote address of the nominated ICE pair, once connected. */
export function nominatedUdp(pc: RTCPeerConnection): { udp: WeriftUdp; remoteAddr: [string, number] } | null {
  const pair = (pc.iceTransports[0]?.connection as unknown as WeriftIce | undefined)?.nominated;
  return pair?.protocol.transport ? { udp: pair.protocol.transport, remoteAddr: pair.remoteAddr } : null;
}
