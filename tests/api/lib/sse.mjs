// A Server-Sent Events reader for the API tests: opens `path` on a server with a user's token and
// returns { next(pred), close() }. next() resolves with the first event (oldest first) that pred
// accepts, reading more of the stream as needed, or null when the stream ended; events that do not
// match are kept for later calls. An event is { event, id, data } (event 'message' by default, as
// in EventSource); blocks without data (comments, keep-alives) are skipped.
import assert from 'node:assert/strict';

export async function openSse(url, token) {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: ctl.signal });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  const events = [];
  return {
    async next(pred) {
      for (;;) {
        const i = events.findIndex(pred);
        if (i >= 0) return events.splice(i, 1)[0];
        const { value, done } = await reader.read();
        if (done) return null;
        text += dec.decode(value, { stream: true });
        let k;
        while ((k = text.indexOf('\n\n')) >= 0) {
          const block = text.slice(0, k);
          text = text.slice(k + 2);
          const ev = { event: 'message', data: '' };
          let hasData = false;
          for (const line of block.split('\n')) {
            if (line.startsWith('event: ')) ev.event = line.slice(7);
            else if (line.startsWith('id: ')) ev.id = line.slice(4);
            else if (line.startsWith('data: ')) {
              ev.data += line.slice(6);
              hasData = true;
            }
          }
          if (hasData) events.push(ev);
        }
      }
    },
    close() { ctl.abort(); },
  };
}
