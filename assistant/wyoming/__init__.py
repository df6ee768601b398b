"""A Wyoming server: what Home Assistant's Wyoming integration talks to, on one port.

`describe` lists our speech recognizer (asr), voice (tts), wake words (wake) and the whole assistant as a
conversation agent (handle); each request is served by the same models and dialog as every other front
end (`assistant.runtime`, `assistant.pipeline`). One module per job: `protocol` (bounded event framing),
`pcm` (raw audio in and out), `info`, one module per service (`asr`, `tts`, `handle`, `wake`), `server`
(connections and dispatch), `binding` (where it may listen) and `cli` (`assistant wyoming`).
"""
