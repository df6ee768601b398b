"""The page's own microphone and speaker for hands-free listening and sentence-by-sentence spoken replies.

Why not Gradio's own components: a streaming `gr.Audio` microphone (Gradio 6.31) loads its WAV recorder
lazily, so a Record click that lands before that module is ready fails in the page ("ge is not a
constructor") and the stream never starts; it also uploads every 0.25 s chunk as a 48 kHz WAV file into
the server's cache. Its streaming *output* needs the `ffmpeg` binary (AAC/HLS), which an offline install
may not have. So the page keeps a small recorder and player of its own (`VOICE_JS`, loaded in <head>):

- the recorder captures the microphone with an AudioWorklet and buffers 16-bit PCM; a `gr.Timer` collects
  the buffer every `HANDS_FREE_CHUNK_S` as a JSON payload (`decode_payload`), so no audio is lost when a
  tick is late; while the page speaks a reply the microphone stays open, cleaned of the page's own voice
  by the browser's echo cancellation (getUserMedia constraints), and the payload says `speaking`: the
  server then listens only for the wake word or "stop" (barge-in), never for a request;
- the player gets the reply as one growing text, one line per synthesised sentence (`ReplyStream`), and
  plays the WAV clips one after another as they arrive, so the first sentence plays while the rest is
  still being generated and synthesised;
- the server signals the page through a hidden textbox (`page_signal`, one line per signal):
  `stop <turn> <heard_s>` on a barge-in: the page stops that reply at once, ignores whatever of it still
  arrives, and logs how long after the microphone captured the detection point (`heard_s` seconds into
  what it sent) playback stopped; `wake <heard_s>` when the wake word is heard: the page plays the earcon
  (the two tones of `assistant.speech.talk.earcon`, made in the browser) unless `wake.earcon` is off.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field

import numpy as np

from assistant.speech.talk import EARCON_GAIN, EARCON_HZ, EARCON_S

MAX_PAYLOAD_SECONDS = 10.0  # the page never buffers more than this between two collections


class PayloadError(ValueError):
    """The page sent microphone data this server cannot read."""


@dataclass(frozen=True)
class MicPayload:
    """One collection of microphone audio from the page."""

    on: bool  # the page's microphone is still open
    rate: int
    samples: np.ndarray  # float32 mono in [-1, 1]
    muted: bool  # some audio was dropped because the page was speaking (pages before barge-in)
    error: str = ""  # why the page's microphone stopped, when it did
    speaking: bool = False  # the page was speaking a reply during (part of) this audio


def decode_payload(text: str | None) -> MicPayload | None:
    """The JSON the page's `take()` returns -> samples; None when the page sent nothing (not listening)."""
    if not text:
        return None
    try:
        data = json.loads(text)
        rate = int(data.get("rate") or 0)
        raw = base64.b64decode(data.get("pcm") or "", validate=True)
    except (ValueError, TypeError, AttributeError) as exc:
        raise PayloadError(f"unreadable microphone data ({exc})") from exc
    if len(raw) % 2:
        raise PayloadError("unreadable microphone data (odd number of bytes)")
    if raw and not 8_000 <= rate <= 192_000:
        raise PayloadError(f"unsupported microphone sample rate {rate} Hz")
    if raw and len(raw) / 2 / rate > MAX_PAYLOAD_SECONDS * 1.5:
        raise PayloadError("too much microphone data at once")
    samples = np.frombuffer(raw, dtype="<i2").astype(np.float32) / 32768.0
    return MicPayload(
        on=bool(data.get("on")),
        rate=rate or 16_000,
        samples=samples,
        muted=bool(data.get("muted")),
        error=str(data.get("error") or "")[:200],
        speaking=bool(data.get("speaking")),
    )


def stop_signal(turn: str, heard_s: float) -> str:
    """A `page_signal` line: stop playing this reply (barge-in; see `VOICE_JS`)."""
    return f"stop {turn} {heard_s:.3f}"


def wake_signal(heard_s: float) -> str:
    """A `page_signal` line: the wake word was heard `heard_s` into the audio; play the earcon. (The time
    also makes each signal new text, so the textbox's change event fires for every wake.)"""
    return f"wake {heard_s:.3f}"


@dataclass
class ReplyStream:
    """The text a hidden textbox carries to the page's player: a header line, then one line per clip.

    It only ever grows during a turn, so Gradio sends each new clip as an append, and a page that
    missed an update still finds every clip in the next one. A new turn starts a new stream id, which
    tells the page to stop what it is playing.
    """

    turn: str = field(default_factory=lambda: uuid.uuid4().hex[:12])
    lines: list[str] = field(default_factory=list)

    def add(self, samples: np.ndarray, rate: int) -> str:
        if np.asarray(samples).size:
            from assistant.audio import wav_bytes

            clip = base64.b64encode(wav_bytes(np.asarray(samples, dtype=np.float32), rate)).decode("ascii")
            self.lines.append(f"{len(self.lines)} {clip}")
        return self.text

    @property
    def text(self) -> str:
        return "\n".join([f"turn {self.turn}", *self.lines]) + "\n"


VOICE_JS = r"""
<script>
(() => {
  if (window.assistantVoice) return;
  const TAP = `class AssistantTap extends AudioWorkletProcessor {
    process(inputs) { const ch = inputs[0] && inputs[0][0]; if (ch) this.port.postMessage(ch.slice(0)); return true; }
  }
  registerProcessor('assistant-tap', AssistantTap);`;
  const MAX_BUFFER_S = 10;   // keep at most this much unsent audio
  const ECHO_TAIL_MS = 400;  // the page counts as speaking this long after it stops (its echo's tail)
  const MARKS_KEPT = 2000;   // (samples captured, time) of the last ~16 s of microphone frames
  __EARCON__

  const voice = {
    stream: null, ctx: null, chunks: [], buffered: 0, muted: false, error: '', timer: null,
    queue: [], seen: new Set(), turn: null, playing: false, quietSince: 0, player: null, log: [],
    spoke: false, captured: 0, marks: [], stopped: new Set(), barges: [],

    // --- microphone -------------------------------------------------------------------------------
    async start(limitSeconds) {
      if (this.stream) return 'ok';
      this.error = '';
      if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
        return 'error: this page cannot use the microphone (it needs https or localhost)';
      }
      try {
        this.stream = await navigator.mediaDevices.getUserMedia({
          audio: {channelCount: 1, echoCancellation: true, noiseSuppression: true, autoGainControl: true},
        });
        // 16 kHz is what the server listens at: the browser resamples the whole stream properly, where
        // resampling each short chunk on the server would click at every chunk boundary.
        let source;
        try {
          this.ctx = new AudioContext({sampleRate: 16000});
          source = this.ctx.createMediaStreamSource(this.stream);
        } catch (e) {  // a browser that cannot resample a live stream: send its own rate instead
          if (this.ctx) this.ctx.close().catch(() => {});
          this.ctx = new AudioContext();
          source = this.ctx.createMediaStreamSource(this.stream);
        }
        const url = URL.createObjectURL(new Blob([TAP], {type: 'application/javascript'}));
        await this.ctx.audioWorklet.addModule(url);
        const tap = new AudioWorkletNode(this.ctx, 'assistant-tap');
        const sink = this.ctx.createGain();
        sink.gain.value = 0;  // the worklet must be pulled by the graph, but nothing should be heard
        tap.port.onmessage = (event) => this.hear(event.data);
        source.connect(tap).connect(sink).connect(this.ctx.destination);
        await this.ctx.resume();
        this.stream.getAudioTracks().forEach((t) => t.addEventListener('ended', () => this.stop('the microphone went away')));
      } catch (e) {
        this.stop();
        const denied = e && (e.name === 'NotAllowedError' || e.name === 'SecurityError');
        return 'error: ' + (denied ? 'microphone access was denied' : 'the microphone could not start (' + (e && e.message || e) + ')');
      }
      this.chunks = []; this.buffered = 0; this.muted = false; this.spoke = false; this.captured = 0; this.marks = [];
      if (limitSeconds) this.timer = setTimeout(() => this.stop('listened for the maximum time'), limitSeconds * 1000);
      return 'ok';
    },
    stop(reason) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      if (this.stream) this.stream.getTracks().forEach((t) => t.stop());
      if (this.ctx) this.ctx.close().catch(() => {});
      this.stream = null; this.ctx = null; this.chunks = []; this.buffered = 0;
      if (reason) this.error = reason;
      return 'stopped';
    },
    speaking() {
      return this.playing || performance.now() - this.quietSince < ECHO_TAIL_MS;
    },
    hear(frame) {
      if (!this.stream) return;
      // Never muted: echo cancellation keeps the page's own voice out, and the server listens only for
      // the wake word while `speaking` (barge-in).
      if (this.speaking()) this.spoke = true;
      this.captured += frame.length;
      this.marks.push([this.captured, performance.now()]);
      if (this.marks.length > MARKS_KEPT) this.marks.splice(0, this.marks.length - MARKS_KEPT);
      this.chunks.push(frame);
      this.buffered += frame.length;
      const limit = MAX_BUFFER_S * (this.ctx ? this.ctx.sampleRate : 48000);
      while (this.buffered > limit && this.chunks.length > 1) this.buffered -= this.chunks.shift().length;
    },
    take() {
      const rate = this.ctx ? this.ctx.sampleRate : 0;
      const pcm = new Int16Array(this.buffered);
      let at = 0;
      for (const c of this.chunks) {
        for (let i = 0; i < c.length; i++) pcm[at++] = Math.max(-32768, Math.min(32767, Math.round(c[i] * 32767)));
      }
      const bytes = new Uint8Array(pcm.buffer);
      let binary = '';
      for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
      const payload = {on: !!this.stream, rate: rate, muted: this.muted, speaking: this.spoke || this.speaking(),
                       error: this.error, pcm: btoa(binary)};
      this.chunks = []; this.buffered = 0; this.muted = false; this.spoke = false;
      return JSON.stringify(payload);
    },

    // --- speaker: plays the clips of the current reply in order as they arrive ----------------------
    play(text) {
      if (!text) return;
      const lines = text.split('\n');
      const head = lines[0] || '';
      if (!head.startsWith('turn ')) return;
      const turn = head.slice(5);
      if (this.stopped.has(turn)) return;  // cut off by a barge-in: what still arrives is not played
      if (turn !== this.turn) this.reset(turn);
      for (const line of lines.slice(1)) {
        const space = line.indexOf(' ');
        if (space < 0) continue;
        const index = Number(line.slice(0, space));
        if (this.seen.has(index)) continue;
        this.seen.add(index);
        this.queue.push({turn, index, src: 'data:audio/wav;base64,' + line.slice(space + 1)});
        this.log.push({turn, index, event: 'arrived', at: performance.now()});
      }
      if (!this.playing) this.next();
    },
    // --- barge-in: the server heard the wake word while this page spoke ---------------------------------
    capturedAt(sample) {  // when the microphone frame holding this sample (counted from start) arrived
      for (const [count, at] of this.marks) if (count >= sample) return at;
      return null;
    },
    signal(text) {  // the server's `page_signal`: one command per line
      for (const line of (text || '').split('\n')) {
        const parts = line.split(' ');
        if (parts[0] === 'stop' && parts[1]) this.bargeIn(parts[1], Number(parts[2] || 0));
        else if (parts[0] === 'wake') this.chime();
      }
    },
    chime() {  // the earcon: two soft rising tones, faded in and out; not counted as speaking
      if (!this.ctx) return;
      const half = EARCON_S / 2, t0 = this.ctx.currentTime + 0.01;
      EARCON_HZ.forEach((hz, i) => {
        const osc = this.ctx.createOscillator(), gain = this.ctx.createGain(), at = t0 + i * half;
        osc.frequency.value = hz;
        gain.gain.setValueAtTime(0, at);
        gain.gain.linearRampToValueAtTime(EARCON_GAIN, at + 0.01);
        gain.gain.setValueAtTime(EARCON_GAIN, at + half - 0.01);
        gain.gain.linearRampToValueAtTime(0, at + half);
        osc.connect(gain).connect(this.ctx.destination);
        osc.start(at); osc.stop(at + half);
      });
      this.log.push({turn: this.turn, event: 'chime', at: performance.now()});
    },
    bargeIn(turn, heardS) {
      const wasPlaying = this.playing && this.turn === turn;
      this.stopped.add(turn);
      if (this.turn === turn) this.reset(null);
      const at = performance.now();
      const heardAt = this.capturedAt(Math.round(heardS * (this.ctx ? this.ctx.sampleRate : 16000)));
      const entry = {turn, heardS, at, wasPlaying, afterDetectionMs: heardAt === null ? null : at - heardAt};
      this.barges.push(entry);
      this.log.push({turn, event: 'barge-in', at});
    },
    reset(turn) {
      this.turn = turn; this.queue = []; this.seen = new Set();
      if (this.player && !this.player.paused) this.player.pause();
      if (this.playing) this.quietSince = performance.now();
      this.playing = false;
    },
    next() {
      const item = this.queue.shift();
      if (!item) {
        if (this.playing) this.quietSince = performance.now();
        this.playing = false;
        return;
      }
      if (!this.player) {
        this.player = document.createElement('audio');
        this.player.id = 'reply-player';
        this.player.addEventListener('ended', () => this.next());
        this.player.addEventListener('error', () => this.next());
        document.body.appendChild(this.player);
      }
      this.playing = true;
      this.player.src = item.src;
      this.player.play().then(
        () => this.log.push({turn: item.turn, index: item.index, event: 'playing', at: performance.now()}),
        (e) => { this.log.push({turn: item.turn, index: item.index, event: 'blocked', at: performance.now(), error: String(e)}); this.next(); },
      );
    },
  };
  window.assistantVoice = voice;
})();
</script>
"""

VOICE_JS = VOICE_JS.replace(
    "__EARCON__",
    f"const EARCON_HZ = {list(EARCON_HZ)}, EARCON_S = {EARCON_S}, EARCON_GAIN = {EARCON_GAIN};  // talk.earcon",
)

# Event `js` snippets (Gradio passes the inputs' values and uses the return value as the inputs).


def js_start(limit_s: float) -> str:
    """Opens the page's microphone; the event's inputs (payload, session) become ('ok' or 'error: why', session)."""
    return (
        "async (payload, session) => [window.assistantVoice ? "
        f"await window.assistantVoice.start({float(limit_s)!r}) "
        ": 'error: the page did not load its microphone script', session]"
    )


JS_STOP = "(session) => { if (window.assistantVoice) window.assistantVoice.stop(); return session; }"
JS_TAKE = (
    "(payload, session, seq) => [window.assistantVoice ? window.assistantVoice.take() : '', session, seq]"
)
JS_PLAY = "(text) => { if (window.assistantVoice) window.assistantVoice.play(text); return []; }"
JS_SIGNAL = "(text) => { if (window.assistantVoice) window.assistantVoice.signal(text); return []; }"
