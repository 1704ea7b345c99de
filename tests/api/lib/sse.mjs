// Server-Sent Events read by API tests: the stream at url with a bearer token, its events parsed
// ({event, id, data}, data as sent) and waited for with a bound, never forever.
//
//   const st = await openEvents(`${ent.url}/api/messages/stream`, token);
//   assert.equal(st.status, 200);
//   const ev = await st.next((e) => e.event === 'message');   // null after 10 s or at the end
//   st.close();
import assert from 'node:assert/strict';

/**
 * Opens the stream. Answers {status, json} when it is not 200 (a problem), else {status, next(pred,
 * ms), close()}: next gives the first event not yet taken that pred accepts (every one without
 * pred), waiting ms (10 s) at most; null then, or when the stream ended.
 */
export async function openEvents(url, token) {
  const ctl = new AbortController();
  const res = await fetch(url, { headers: { Authorization: `Bearer ${token}` }, signal: ctl.signal });
  if (res.status !== 200) return { status: res.status, json: await res.json() };
  assert.match(res.headers.get('content-type'), /^text\/event-stream/);
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let text = '';
  let ended = false;
  let reading = null;
  const events = [];
  const read = async () => {
    const { value, done } = await reader.read();
    if (done) {
      ended = true;
      return;
    }
    text += dec.decode(value, { stream: true });
    let k;
    while ((k = text.indexOf('\n\n')) >= 0) {
      const block = text.slice(0, k).split('\n');
      text = text.slice(k + 2);
      const ev = { event: 'message', data: '' };
      for (const line of block) {
        if (line.startsWith('event: ')) ev.event = line.slice(7);
        else if (line.startsWith('id: ')) ev.id = line.slice(4);
        else if (line.startsWith('data: ')) ev.data += line.slice(6);
      }
      if (block.some((l) => l.startsWith('data: '))) events.push(ev);
    }
  };
  return {
    status: 200,
    async next(pred = () => true, ms = 10000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const i = events.findIndex(pred);
        if (i >= 0) return events.splice(i, 1)[0];
        const left = deadline - Date.now();
        if (ended || left <= 0) return null;
        reading = reading || read().finally(() => { reading = null; });
        let timer;
        await Promise.race([reading, new Promise((r) => { timer = setTimeout(r, left); })]);
        clearTimeout(timer);
      }
    },
    close() { ctl.abort(); },
  };
}
