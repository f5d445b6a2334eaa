/**
 * How many streams the hub lets QUIC grant one peer, for `--max-streams N`.
 *
 * quinn returns stream credit in batches: it announces a higher MAX_STREAMS only once more
 * than an eighth of the limit has been freed (quinn-proto `queue_max_stream_id`). Up to
 * limit/8 closed streams can thus stay unusable for as long as the peer opens no more, and a
 * peer that waits for credit to reach exactly N would wait forever (measured: 4 to 8 of 40
 * freed streams at a limit of 65). So QUIC's limit leaves room for that batch, for the
 * control stream and for the peer's spare stream, and the peer keeps itself to N (the
 * welcome tells it N). Against a peer that ignores N, QUIC's limit is the hard cap.
 */
export function quicStreamLimit(maxStreams: number): number {
  const needed = maxStreams + 2
  return needed + Math.ceil(needed / 7)
}
