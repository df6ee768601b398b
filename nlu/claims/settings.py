"""The sizes of a claims run: `default()` (under 45 minutes on 2 CPU cores), `small()` (tests: seconds) and
`full()` (more seeds, lengths and distances)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace


@dataclass(frozen=True)
class ClaimsSettings:
    name: str = "default"
    seeds: tuple[int, ...] = (0, 1, 2)
    # --- the two models: the product's input layer and heads, encoders at matched parameter counts --------
    pretrained: bool = True  # frozen MiniLM-distilled word vectors (384-d), as the product models
    word_dim: int = 384  # used when not pretrained
    ngram_dim: int = 32
    buckets: int = 20_000
    lstm_hidden: int = 128  # per direction: the BiLSTM's states are 256-d
    d_model: int = 128
    heads: int = 4
    layers: int = 3  # Transformer blocks; its feed-forward width is chosen to match the LSTM's count
    batch_size: int = 64
    # --- data: all of HWU64 unless limited (tests) ------------------------------------------------------
    intents: int | None = None
    per_intent: int | None = None
    # --- claim 1: speed ---------------------------------------------------------------------------------
    lengths: tuple[int, ...] = (16, 64, 256, 1024)
    speed_batch: int = 16
    timed_batches: int = 4  # per length, after one warm-up batch; the epoch time is extrapolated
    target_accuracy: float = 0.85  # validation intent accuracy for "time to reach"
    # --- claim 2: long-range ----------------------------------------------------------------------------
    distances: tuple[int, ...] = (0, 8, 24, 56)  # filler words after the request
    request_words: int = 16  # requests are cut to this many words; inputs are max(distances) + this long
    long_per_intent: int = 60  # training requests per label intent
    long_intents: int | None = 16  # label intents (None: every intent of the label scenarios)
    long_epochs: int = 20  # the transformer was still improving at 10 (one-seed trial)
    long_batch: int = 16  # small batches: more steps on the few long inputs the budget allows
    # --- claim 3: memory --------------------------------------------------------------------------------
    memory_batch: int = 16
    # --- claim 4: data efficiency -----------------------------------------------------------------------
    fractions: tuple[float, ...] = (0.05, 0.1, 0.25, 0.5, 1.0)
    epochs: int = 8
    min_steps: int = 240  # small fractions train for more epochs, up to max_epochs, to get this many steps
    max_epochs: int = 30
    patience: int = 3
    crossset: bool = True
    # --- claim 5: latency -------------------------------------------------------------------------------
    latency_samples: int = 200

    @classmethod
    def default(cls) -> ClaimsSettings:
        return cls()

    @classmethod
    def small(cls) -> ClaimsSettings:
        """Tiny and fast (tests): one seed, 8 intents, lengths 16 and 64, one epoch, small layers."""
        return cls(
            name="small",
            seeds=(0,),
            pretrained=False,
            word_dim=32,
            ngram_dim=16,
            buckets=2000,
            lstm_hidden=32,
            d_model=32,
            heads=2,
            layers=2,
            batch_size=16,
            intents=8,
            per_intent=12,
            lengths=(16, 64),
            speed_batch=8,
            timed_batches=2,
            target_accuracy=0.2,
            distances=(0, 8),
            request_words=8,
            long_per_intent=12,
            long_intents=8,
            long_epochs=1,
            long_batch=16,
            memory_batch=2,
            fractions=(0.5, 1.0),
            epochs=1,
            min_steps=0,
            max_epochs=1,
            patience=1,
            latency_samples=20,
        )

    @classmethod
    def full(cls) -> ClaimsSettings:
        """More seeds, lengths and distances than the default (hours on 2 cores)."""
        return cls(
            name="full",
            seeds=(0, 1, 2, 3, 4),
            lengths=(16, 32, 64, 128, 256, 512, 1024, 2048),
            timed_batches=8,
            memory_batch=4,  # the Transformer's training step at 2048 words then needs about 3 GiB
            distances=(0, 16, 64, 128),
            long_per_intent=100,
            long_intents=None,
            long_epochs=15,
            epochs=12,
            min_steps=400,
            max_epochs=40,
        )

    @classmethod
    def named(cls, name: str) -> ClaimsSettings:
        presets = {"default": cls.default, "small": cls.small, "full": cls.full}
        if name not in presets:
            raise ValueError(f"Unknown claims setting {name!r}; use one of {', '.join(presets)}")
        return presets[name]()

    def with_seeds(self, seeds: int) -> ClaimsSettings:
        if seeds < 1:
            raise ValueError("seeds must be at least 1")
        return replace(self, seeds=tuple(range(seeds)))

    @property
    def input_dim(self) -> int:
        return (384 if self.pretrained else self.word_dim) + self.ngram_dim

    @property
    def long_words(self) -> int:
        """The length of every claim-2 input: the farthest distance plus room for the request."""
        return max(self.distances) + self.request_words

    def to_dict(self) -> dict:
        return asdict(self)
